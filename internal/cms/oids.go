package cms

import "encoding/asn1"

// Content types. GM/T 0010 (GB/T 35275) has its own arc for the PKCS#7
// content types; RFC 5652 uses PKCS#7's.
var (
	oidData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidEnvelopedData     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidGMData            = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 1, 4, 2, 1}
	oidGMSignedData      = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 1, 4, 2, 2}
	oidGMEnvelopedData   = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 1, 4, 2, 3}
	oidTSTInfo           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidSignatureTimeAttr = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
)

// Attributes (RFC 5652 section 11, RFC 5035).
var (
	oidContentType      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidCounterSignature = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 6}
	oidSigningCertV1    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidSigningCertV2    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
)

// Algorithms.
var (
	oidSM3        = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}
	oidSHA256     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA1       = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSM2WithSM3 = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 501}
	// oidSM2Sign is "sm2-1", the SM2 signature of GM/T 0006, which GM/T
	// 0010 names as the signature algorithm of a SignerInfo.
	oidSM2Sign = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301, 1}
	// oidSM2 is the SM2 curve and key OID, which some signers put there.
	oidSM2 = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}
	// oidSM2Encrypt is "sm2-3", SM2 public key encryption: the key
	// encryption algorithm of an SM2 recipient.
	oidSM2Encrypt = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301, 3}
	oidSM4CBC     = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 104, 2}
)

// oidSet is the set of content type OIDs a structure is made with.
type oidSet struct {
	data, signedData, envelopedData asn1.ObjectIdentifier
	// sigAlg is the SignerInfo signature algorithm.
	sigAlg asn1.ObjectIdentifier
	// nullParams gives algorithm identifiers NULL parameters.
	nullParams bool
	// version is the version of EnvelopedData and its RecipientInfos.
	version int
}

// gmOIDs follow GM/T 0010 as gmsm writes it; rfcOIDs follow RFC 5652
// with the SM2 signature algorithm that BouncyCastle and OpenSSL know
// (sm2-with-sm3).
var (
	gmOIDs = oidSet{
		data: oidGMData, signedData: oidGMSignedData, envelopedData: oidGMEnvelopedData,
		sigAlg: oidSM2Sign, nullParams: true, version: 1,
	}
	rfcOIDs = oidSet{data: oidData, signedData: oidSignedData, envelopedData: oidEnvelopedData, sigAlg: oidSM2WithSM3}
)

// oidsFor returns the OID set of a choice between GM/T 0010 (the default)
// and RFC 5652.
func oidsFor(rfc5652 bool) oidSet {
	if rfc5652 {
		return rfcOIDs
	}
	return gmOIDs
}
