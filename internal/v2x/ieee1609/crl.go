package ieee1609

import "github.com/mimacrypto/mima/internal/v2x/coer"

// CRL types of Ieee1609Dot2CrlBaseTypes (IEEE 1609.2-2022 clause 7.3).

// CrlContents is the unsecured content of a SecuredCrl: a Data signed by
// the CRL signer with PSID 256 (the Chinese profile's CRL AID 3628).
type CrlContents struct {
	Version      uint8 // 1
	CrlSeries    uint16
	CrlCraca     HashedId8
	IssueDate    Time32
	NextCrl      Time32
	PriorityInfo CrlPriorityInfo
	TypeSpecific TypeSpecificCrlContents
}

// CrlPriorityInfo orders CRLs of one series issued at the same time.
type CrlPriorityInfo struct {
	_        coer.Extensible
	Priority *uint8                  `coer:"optional"`
	Unknown  []coer.UnknownExtension `coer:"unknown"`
}

// TypeSpecificCrlContents is a hash-based or linkage-based CRL, full or
// delta.
type TypeSpecificCrlContents struct {
	_                     coer.Choice
	_                     coer.Extensible
	FullHashCrl           *HashIDCrl
	DeltaHashCrl          *HashIDCrl
	FullLinkedCrl         *LinkageValueCrl
	DeltaLinkedCrl        *LinkageValueCrl
	FullLinkedCrlWithAlg  *LinkageValueCrlWithAlg `coer:"ext"`
	DeltaLinkedCrlWithAlg *LinkageValueCrlWithAlg `coer:"ext"`
	Unknown               *coer.UnknownExtension  `coer:"unknown"`
}

// HashIDCrl (ToBeSignedHashIdCrl) lists certificates by HashedId10.
type HashIDCrl struct {
	_         coer.Extensible
	CrlSerial uint32
	Entries   []HashBasedRevocationInfo
	Unknown   []coer.UnknownExtension `coer:"unknown"`
}

// HashBasedRevocationInfo is one revoked certificate and when it expires.
type HashBasedRevocationInfo struct {
	_       coer.Extensible
	ID      HashedId10
	Expiry  Time32
	Unknown []coer.UnknownExtension `coer:"unknown"`
}

// LinkageValueCrl (ToBeSignedLinkageValueCrl) revokes pseudonym
// certificates by their linkage seeds from iRev on.
type LinkageValueCrl struct {
	_                coer.Extensible
	IRev             uint16
	IndexWithinI     uint8
	Individual       []JMaxGroup               `coer:"optional"`
	Groups           []GroupCrlEntry           `coer:"optional"`
	GroupsSingleSeed []GroupSingleSeedCrlEntry `coer:"ext"`
	Unknown          []coer.UnknownExtension   `coer:"unknown"`
}

// LinkageValueCrlWithAlg names the seed evolution and linkage value
// functions (both NULL: the defaults of the expansion algorithm).
type LinkageValueCrlWithAlg struct {
	_                coer.Extensible
	IRev             uint16
	IndexWithinI     uint8
	SeedEvolution    coer.Null
	LvGeneration     coer.Null
	Individual       []JMaxGroup               `coer:"optional"`
	Groups           []GroupCrlEntry           `coer:"optional"`
	GroupsSingleSeed []GroupSingleSeedCrlEntry `coer:"optional"`
	Unknown          []coer.UnknownExtension   `coer:"unknown"`
}

// JMaxGroup groups revocations by the number of certificates per period.
type JMaxGroup struct {
	_        coer.Extensible
	Jmax     uint8
	Contents []LAGroup
	Unknown  []coer.UnknownExtension `coer:"unknown"`
}

// LAGroup groups revocations by their pair of linkage authorities.
type LAGroup struct {
	_        coer.Extensible
	La1ID    LaID
	La2ID    LaID
	Contents []IMaxGroup
	Unknown  []coer.UnknownExtension `coer:"unknown"`
}

// IMaxGroup groups revocations by the last period they cover.
type IMaxGroup struct {
	_          coer.Extensible
	IMax       uint16
	Contents   []IndividualRevocation
	SingleSeed []Seed                  `coer:"ext"`
	Unknown    []coer.UnknownExtension `coer:"unknown"`
}

// IndividualRevocation is the pair of linkage seeds of one device at iRev.
type IndividualRevocation struct {
	_            coer.Extensible
	LinkageSeed1 Seed
	LinkageSeed2 Seed
	Unknown      []coer.UnknownExtension `coer:"unknown"`
}

// GroupCrlEntry revokes a group by its seeds.
type GroupCrlEntry struct {
	_            coer.Extensible
	IMax         uint16
	La1ID        LaID
	LinkageSeed1 Seed
	La2ID        LaID
	LinkageSeed2 Seed
	Unknown      []coer.UnknownExtension `coer:"unknown"`
}

// GroupSingleSeedCrlEntry revokes a group by one seed.
type GroupSingleSeedCrlEntry struct {
	IMax        uint16
	LaID        LaID
	LinkageSeed Seed
}
