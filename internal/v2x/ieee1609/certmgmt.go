package ieee1609

import "github.com/mimacrypto/mima/internal/v2x/coer"

// CertManagementPdu carries CRLs, certificate chains, certificate trust
// lists and status (1609.2.1 Ieee1609Dot2Dot1CertManagement).
type CertManagementPdu struct {
	_                coer.Choice
	_                coer.Extensible
	CompositeCrl     *CompositeCrl
	CertificateChain *CertificateChain
	MultiSignedCtl   *MultiSignedCtl
	TbsCtlSignature  *ToBeSignedCtlSignature
	InfoStatus       *CertificateManagementInfoStatus
	Unknown          *coer.UnknownExtension `coer:"unknown"`
}

// CompositeCrl is the CRLs of a trust domain with its CTL.
type CompositeCrl struct {
	_       coer.Extensible
	Crl     []Data
	HomeCtl Data
	Unknown []coer.UnknownExtension `coer:"unknown"`
}

// CertificateChain is the home CTL and other certificates a device needs.
type CertificateChain struct {
	_       coer.Extensible
	HomeCtl Data
	Others  []Certificate
	Unknown []coer.UnknownExtension `coer:"unknown"`
}

// MultiSignedCtl is a certificate trust list signed by electors. TbsCtl
// and Unsigned are open types whose form Type gives (1: FullIeeeTbsCtl
// and SequenceOfCertificate).
type MultiSignedCtl struct {
	Type       uint8
	TbsCtl     coer.Open
	Unsigned   coer.Open
	Signatures []Data
}

// FullIeeeTbsCtl is the signed part of a full CTL (type 1).
type FullIeeeTbsCtl struct {
	_              coer.Extensible
	Type           uint8 // 1
	ElectorGroupID [8]byte
	SequenceNumber uint16
	EffectiveDate  Time32
	ElectorApprove []HashedId48
	ElectorRemove  []HashedId48
	RootCaApprove  []HashedId32
	RootCaRemove   []HashedId32
	Quorum         *int64                  `coer:"ext,varint"`
	Unknown        []coer.UnknownExtension `coer:"unknown"`
}

// ToBeSignedCtlSignature is what each elector signs.
type ToBeSignedCtlSignature struct {
	ElectorGroupID [8]byte
	CtlType        uint8
	SequenceNumber uint16
	TbsCtlHash     HashedId48
}

// CertificateManagementInfoStatus tells a device the latest CRLs, CTLs,
// CA certificate file, MA and RA certificates.
type CertificateManagementInfoStatus struct {
	_       coer.Extensible
	Crl     []CrlInfoStatus
	Ctl     []CtlInfoStatus
	CaCcf   Time32
	Ma      []MaInfoStatus
	Ra      *Time32                 `coer:"optional"`
	Unknown []coer.UnknownExtension `coer:"unknown"`
}

// CtlInfoStatus is the latest CTL of an elector group.
type CtlInfoStatus struct {
	_              coer.Extensible
	ElectorGroupID [8]byte
	SequenceNumber uint16
	LastUpdate     Time32
	Unknown        []coer.UnknownExtension `coer:"unknown"`
}

// CrlInfoStatus is the latest CRL of a series.
type CrlInfoStatus struct {
	_         coer.Extensible
	CracaID   HashedId8
	Series    uint16
	IssueDate Time32
	Unknown   []coer.UnknownExtension `coer:"unknown"`
}

// MaInfoStatus is when an MA's certificate for some PSIDs last changed.
type MaInfoStatus struct {
	_       coer.Extensible
	Psids   []Psid
	Updated Time32
	Unknown []coer.UnknownExtension `coer:"unknown"`
}
