package ieee1609

import (
	"encoding/hex"
	"strconv"

	"github.com/mimacrypto/mima/internal/v2x/coer"
)

// SCMS messages of IEEE 1609.2.1-2020 (Ieee1609Dot2Dot1Protocol and the
// interface modules). They travel COER-encoded, as the unsecured,
// signed or encrypted content of a Data.

// ScmsPdu is every SCMS message (1609.2.1 6.3.2).
type ScmsPdu struct {
	Version uint8 // 2
	Content ScmsContent
}

// ScmsContent selects the interface a message belongs to. The ACA–LA,
// ACA–MA, EE–MA, LA–MA, LA–RA and MA–RA interfaces are NULL in
// 1609.2.1-2020; mima carries its own messages for them (see package scms).
type ScmsContent struct {
	_       coer.Choice
	_       coer.Extensible
	AcaEe   *AcaEePdu
	AcaLa   *coer.Null
	AcaMa   *coer.Null
	AcaRa   *AcaRaPdu
	Cert    *CertManagementPdu
	EcaEe   *EcaEePdu
	EeMa    *coer.Null
	EeRa    *EeRaPdu
	LaMa    *coer.Null
	LaRa    *coer.Null
	MaRa    *coer.Null
	Unknown *coer.UnknownExtension `coer:"unknown"`
}

// SignedCertificateRequest is the content of a Data's
// signedCertificateRequest: a request signed by the requester's
// enrolment certificate, or self-signed (1609.2.1 6.3.2).
type SignedCertificateRequest struct {
	HashAlgorithmID uint8 `coer:"enum"`
	TbsRequest      ScmsPdu
	Signer          SignerIdentifier
	Signature       Signature
}

// EcaEePdu is the EE–ECA interface.
type EcaEePdu struct {
	_                 coer.Choice
	_                 coer.Extensible
	EeEcaCertRequest  *EeEcaCertRequest
	EcaEeCertResponse *EcaEeCertResponse
	Unknown           *coer.UnknownExtension `coer:"unknown"`
}

// EeEcaCertRequest asks the ECA for an enrolment certificate.
type EeEcaCertRequest struct {
	_              coer.Extensible
	Version        uint8 // 2
	GenerationTime Time32
	Type           uint8 `coer:"enum"`
	TbsCert        ToBeSignedCertificate
	CanonicalID    *string                 `coer:"optional"`
	Unknown        []coer.UnknownExtension `coer:"unknown"`
}

// EcaEeCertResponse returns the enrolment certificate with the ECA's
// chain.
type EcaEeCertResponse struct {
	_              coer.Extensible
	Version        uint8 // 2
	RequestHash    HashedId8
	EcaCertChain   []Certificate
	Certificate    Certificate
	PrivateKeyInfo *[32]byte               `coer:"optional"`
	Unknown        []coer.UnknownExtension `coer:"unknown"`
}

// EeRaPdu is the EE–RA interface.
type EeRaPdu struct {
	_                                  coer.Choice
	_                                  coer.Extensible
	EeRaCertRequest                    *EeRaCertRequest
	RaEeCertAck                        *RaEeCertAck
	RaEeCertInfo                       *RaEeCertInfo
	EeRaDownloadRequest                *EeRaDownloadRequest
	EeRaSuccessorEnrollmentCertRequest *Data
	Unknown                            *coer.UnknownExtension `coer:"unknown"`
}

// EeRaCertRequest asks the RA for pseudonym or application certificates,
// with the caterpillar keys in TbsCert and the expansion keys in
// AdditionalParams.
type EeRaCertRequest struct {
	_                coer.Extensible
	Version          uint8 // 2
	GenerationTime   Time32
	Type             uint8 `coer:"enum"`
	TbsCert          ToBeSignedCertificate
	AdditionalParams *AdditionalParams       `coer:"optional"`
	Unknown          []coer.UnknownExtension `coer:"unknown"`
}

// AdditionalParams carries the butterfly parameters.
type AdditionalParams struct {
	_              coer.Choice
	_              coer.Extensible
	Original       *ButterflyParamsOriginal
	Unified        *ButterflyExpansion
	CompactUnified *ButterflyExpansion
	EncryptionKey  *PublicEncryptionKey
	Unknown        *coer.UnknownExtension `coer:"unknown"`
}

// ButterflyParamsOriginal are the expansion keys and the caterpillar
// encryption key of the original butterfly scheme.
type ButterflyParamsOriginal struct {
	SigningExpansion    ButterflyExpansion
	EncryptionKey       PublicEncryptionKey
	EncryptionExpansion ButterflyExpansion
}

// ButterflyExpansion is an expansion key: AES-128 in 1609.2.1-2020; the
// SM4 alternative is mima's reading of the Chinese profile (an extension
// alternative, unconfirmed against YD/T 3957's text).
type ButterflyExpansion struct {
	_       coer.Choice
	_       coer.Extensible
	Aes128  *[16]byte
	Sm4     *[16]byte              `coer:"ext"`
	Unknown *coer.UnknownExtension `coer:"unknown"`
}

// RaEeCertAck acknowledges a request and says when to download.
type RaEeCertAck struct {
	_              coer.Extensible
	Version        uint8 // 2
	GenerationTime Time32
	RequestHash    HashedId8
	FirstI         *uint16 `coer:"optional"`
	NextDlTime     Time32
	Unknown        []coer.UnknownExtension `coer:"unknown"`
}

// RaEeCertInfo tells a device about its certificates.
type RaEeCertInfo struct {
	_              coer.Extensible
	Version        uint8 // 2
	GenerationTime Time32
	CurrentI       uint16
	RequestHash    HashedId8
	NextDlTime     Time32
	AcpcTreeID     *[8]byte                `coer:"optional"`
	Unknown        []coer.UnknownExtension `coer:"unknown"`
}

// EeRaDownloadRequest asks for a file of certificates.
type EeRaDownloadRequest struct {
	_              coer.Extensible
	GenerationTime Time32
	Filename       string
	Unknown        []coer.UnknownExtension `coer:"unknown"`
}

// AcaEePdu is the ACA–EE interface.
type AcaEePdu struct {
	_                 coer.Choice
	_                 coer.Extensible
	AcaEeCertResponse *AcaEeCertResponse
	Unknown           *coer.UnknownExtension `coer:"unknown"`
}

// AcaEeCertResponse is one certificate for a device, with the private key
// reconstruction value for implicit or butterfly explicit certificates.
type AcaEeCertResponse struct {
	_              coer.Extensible
	Version        uint8 // 2
	GenerationTime Time32
	Certificate    Certificate
	PrivateKeyInfo *[32]byte               `coer:"optional"`
	Unknown        []coer.UnknownExtension `coer:"unknown"`
}

// AcaRaPdu is the RA–ACA interface.
type AcaRaPdu struct {
	_                 coer.Choice
	_                 coer.Extensible
	RaAcaCertRequest  *RaAcaCertRequest
	AcaRaCertResponse *AcaRaCertResponse
	Unknown           *coer.UnknownExtension `coer:"unknown"`
}

// RaAcaCertRequest is one cocoon-key request the RA passes to the ACA.
type RaAcaCertRequest struct {
	_              coer.Extensible
	Version        uint8 // 2
	GenerationTime Time32
	Type           uint8                `coer:"enum"`
	Flags          [1]byte              `coer:"bits"` // butterflyExplicit (0), cubk (1)
	LinkageInfo    *LinkageInfo         `coer:"optional"`
	CertEncKey     *PublicEncryptionKey `coer:"optional"`
	TbsCert        ToBeSignedCertificate
	Unknown        []coer.UnknownExtension `coer:"unknown"`
}

// RaAcaCertRequestFlags bits.
const (
	FlagButterflyExplicit = 0x80
	FlagCubk              = 0x40
)

// LinkageInfo is the two encrypted pre-linkage values.
type LinkageInfo struct {
	_       coer.Extensible
	EncPlv1 EncryptedIndividualPLV
	EncPlv2 EncryptedIndividualPLV
	Unknown []coer.UnknownExtension `coer:"unknown"`
}

// EncryptedIndividualPLV is a pre-linkage value encrypted by its LA for
// the ACA.
type EncryptedIndividualPLV struct {
	Version uint8 // 2
	LaID    LaID
	EncPlv  Data
}

// AcaRaCertResponse is the ACA's answer to one RaAcaCertRequest.
type AcaRaCertResponse struct {
	_              coer.Extensible
	Version        uint8 // 2
	GenerationTime Time32
	RequestHash    HashedId8
	AcaResponse    AcaResponse
	Unknown        []coer.UnknownExtension `coer:"unknown"`
}

// AcaResponse is the certificate response, plain, signed-and-encrypted
// (private) or encrypted with the cubk.
type AcaResponse struct {
	_       coer.Choice
	_       coer.Extensible
	Plain   *Data
	Private *Data
	Cubk    *Data
	Unknown *coer.UnknownExtension `coer:"unknown"`
}

// DownloadFilename names the file of a request's certificates for
// i-period i at mima's RA: the request hash in hex, "_", and i. (IEEE
// 1609.2.1 leaves file names to the RA.)
func DownloadFilename(requestHash HashedId8, i uint16) string {
	return hex.EncodeToString(requestHash[:]) + "_" + strconv.Itoa(int(i))
}
