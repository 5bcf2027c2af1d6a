package ieee1609

import (
	"encoding/asn1"

	"github.com/mimacrypto/mima/internal/v2x/coer"
)

// Certificate is an IEEE 1609.2 certificate (6.4.2, 6.4.3): explicit
// (verificationKey and signature) or implicit (reconstructionValue).
type Certificate struct {
	Version    uint8 // 3
	Type       uint8 `coer:"enum"` // CertTypeExplicit or CertTypeImplicit
	Issuer     IssuerIdentifier
	ToBeSigned ToBeSignedCertificate
	Signature  *Signature `coer:"optional"`
}

// CertificateType values.
const (
	CertTypeExplicit = 0
	CertTypeImplicit = 1
)

// IssuerIdentifier names the issuer by the hash of its certificate, or
// says the certificate is self-signed with a hash algorithm (6.4.7).
type IssuerIdentifier struct {
	_               coer.Choice
	_               coer.Extensible
	Sha256AndDigest *HashedId8
	Self            *uint8                 `coer:"enum"`
	Sha384AndDigest *HashedId8             `coer:"ext"`
	Sm3AndDigest    *HashedId8             `coer:"ext"`
	Unknown         *coer.UnknownExtension `coer:"unknown"`
}

// ToBeSignedCertificate is the signed part of a certificate (6.4.8).
type ToBeSignedCertificate struct {
	_                      coer.Extensible
	ID                     CertificateID
	CracaID                HashedId3
	CrlSeries              uint16
	ValidityPeriod         ValidityPeriod
	Region                 *GeographicRegion      `coer:"optional"`
	AssuranceLevel         *[1]byte               `coer:"optional"`
	AppPermissions         []PsidSsp              `coer:"optional"`
	CertIssuePermissions   []PsidGroupPermissions `coer:"optional"`
	CertRequestPermissions []PsidGroupPermissions `coer:"optional"`
	CanRequestRollover     *coer.Null             `coer:"optional"`
	EncryptionKey          *PublicEncryptionKey   `coer:"optional"`
	VerifyKeyIndicator     VerificationKeyIndicator
	Flags                  *[1]byte                `coer:"ext,bits"`
	AppExtensions          []AppExtension          `coer:"ext"`
	CertIssueExtensions    []CertIssueExtension    `coer:"ext"`
	CertRequestExtension   []CertRequestExtension  `coer:"ext"`
	Unknown                []coer.UnknownExtension `coer:"unknown"`
}

// CertificateID identifies the holder: linkage data for pseudonyms, a
// name, a binary id, or nothing (6.4.9).
type CertificateID struct {
	_           coer.Choice
	_           coer.Extensible
	LinkageData *LinkageData
	Name        *string
	BinaryID    []byte
	None        *coer.Null
	Unknown     *coer.UnknownExtension `coer:"unknown"`
}

// LinkageData is a pseudonym certificate's i-period and linkage value.
type LinkageData struct {
	ICert             uint16
	LinkageValue      Lv
	GroupLinkageValue *GroupLinkageValue `coer:"optional"`
}

// PsidGroupPermissions are the permissions a CA may issue or an enrolment
// certificate may request (6.4.10). Absent DEFAULT fields are nil: the
// defaults are 1, 0 and {app}.
type PsidGroupPermissions struct {
	SubjectPermissions SubjectPermissions
	MinChainLength     *int64   `coer:"default,varint"`
	ChainLengthRange   *int64   `coer:"default,varint"`
	EeType             *[1]byte `coer:"default,bits"`
}

// SubjectPermissions are explicit PSID ranges or all.
type SubjectPermissions struct {
	_        coer.Choice
	_        coer.Extensible
	Explicit []PsidSspRange
	All      *coer.Null
	Unknown  *coer.UnknownExtension `coer:"unknown"`
}

// VerificationKeyIndicator is the public key, or for implicit
// certificates the reconstruction value (6.4.36).
type VerificationKeyIndicator struct {
	_                   coer.Choice
	_                   coer.Extensible
	VerificationKey     *PublicVerificationKey
	ReconstructionValue *EccP256CurvePoint
	Unknown             *coer.UnknownExtension `coer:"unknown"`
}

// AppExtension, CertIssueExtension and CertRequestExtension carry the
// certificate extensions of 6.4.8 (such as the operating organisation);
// their contents are open types.
type AppExtension struct {
	ID      uint8
	Content coer.Open
}

// CertIssueExtension is a certificate extension a CA may issue.
type CertIssueExtension struct {
	ID          uint8
	Permissions ExtensionPermissions
}

// CertRequestExtension is a certificate extension a holder may request.
type CertRequestExtension struct {
	ID          uint8
	Permissions ExtensionPermissions
}

// ExtensionPermissions is specific content (an open type) or all.
type ExtensionPermissions struct {
	_        coer.Choice
	Specific coer.Open
	All      *coer.Null
}

// OperatingOrganizationID is the content of the operating organisation
// extension (ExtId 1).
type OperatingOrganizationID = asn1.ObjectIdentifier
