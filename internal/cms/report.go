package cms

import (
	"fmt"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// Reason is a stable code for why a signature or timestamp is not valid.
type Reason string

// Reasons. A signer or timestamp is valid when it has none.
const (
	// UnknownCertificate: the SignedData holds no certificate for the
	// signer (or the TSA).
	UnknownCertificate Reason = "unknown_certificate"
	// UnsupportedAlgorithm: not SM2 with SM3, or a key that is not SM2.
	UnsupportedAlgorithm Reason = "unsupported_algorithm"
	// SignedAttributesInvalid: the signed attributes do not parse, lack
	// the message digest or content type, or repeat one.
	SignedAttributesInvalid Reason = "signed_attributes_invalid"
	// ContentTypeMismatch: the content-type attribute is not the
	// encapsulated content type.
	ContentTypeMismatch Reason = "content_type_mismatch"
	// ContentDigestMismatch: the content (or, for a countersignature, the
	// countersigned signature) is not what was signed.
	ContentDigestMismatch Reason = "content_digest_mismatch"
	// SignatureInvalid: the SM2 signature does not verify with the
	// certificate's key.
	SignatureInvalid Reason = "signature_invalid"
	// UntrustedChain: no chain to a trust anchor, at the evaluation time.
	UntrustedChain Reason = "untrusted_chain"
	// CertificateExpired and CertificateNotYetValid: the certificate was
	// outside its validity at the evaluation time.
	CertificateExpired     Reason = "certificate_expired"
	CertificateNotYetValid Reason = "certificate_not_yet_valid"
	// CertificateRevoked: revoked (or on hold) at or before the
	// evaluation time. A later revocation is reported in Revocation only.
	CertificateRevoked Reason = "certificate_revoked"
	// TimestampInvalid: a signature timestamp is there but not valid.
	TimestampInvalid Reason = "timestamp_invalid"
	// MessageImprintMismatch: the timestamp is not over the data (or, as a
	// signature timestamp, over the signature value).
	MessageImprintMismatch Reason = "message_imprint_mismatch"
	// SigningCertificateMismatch: a timestamp's signing-certificate(-v2)
	// attribute is missing or does not name the TSA's certificate.
	SigningCertificateMismatch Reason = "signing_certificate_mismatch"
	// NotTimestampingCertificate: the TSA's certificate does not have
	// timeStamping as its only extended key usage.
	NotTimestampingCertificate Reason = "not_timestamping_certificate"
	// TimestampMalformed: a signature timestamp does not parse as a
	// TimeStampToken.
	TimestampMalformed Reason = "timestamp_malformed"
	// TimestampRejected: the input is a TimeStampResp without a token.
	TimestampRejected Reason = "timestamp_rejected"
)

// ChainStatus is the outcome of building a certificate chain at the
// evaluation time.
type ChainStatus string

// Chain statuses.
const (
	ChainTrusted   ChainStatus = "trusted"
	ChainUntrusted ChainStatus = "untrusted"
	// ChainExpired: the certificate was outside its validity.
	ChainExpired ChainStatus = "expired"
	// ChainUnchecked: there was no certificate to check.
	ChainUnchecked ChainStatus = "unchecked"
)

// RevocationStatus is what the revocation sources say about a
// certificate.
type RevocationStatus string

// Revocation statuses.
const (
	Good    RevocationStatus = "good"
	Revoked RevocationStatus = "revoked"
	// Unknown: no source covers the certificate (no chain, or an issuer
	// that is not a CA of the tenant and no CRL of it was supplied).
	Unknown RevocationStatus = "unknown"
)

// Revocation sources.
const (
	// SourceCRL is the current CRL of the issuing CA of the tenant.
	SourceCRL = "crl"
	// SourceOCSP is the OCSP answer of the issuing CA of the tenant.
	SourceOCSP = "ocsp"
	// SourceSuppliedCRL is a CRL the caller gave.
	SourceSuppliedCRL = "supplied_crl"
)

// Revocation is the revocation status of a certificate now, whatever
// the evaluation time: a certificate revoked after it is Revoked here
// and still valid.
type Revocation struct {
	Status RevocationStatus
	// RevokedAt and Reason (an RFC 5280 CRLReason name such as
	// "keyCompromise"; "" when unspecified) are set when Revoked.
	RevokedAt time.Time
	Reason    string
	// Source is where the status comes from; "" when Unknown.
	Source string
}

// CertificateInfo names a certificate.
type CertificateInfo struct {
	// Subject and Issuer are distinguished names in RFC 2253 form.
	Subject string
	Issuer  string
	// Serial is the serial number in lower-case hex.
	Serial string
}

func certificateInfo(c *smx509.Certificate) CertificateInfo {
	return CertificateInfo{Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: fmt.Sprintf("%x", c.SerialNumber)}
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	// Valid: there is at least one signer, and every signer and
	// countersigner is valid.
	Valid bool
	// ContentType is the encapsulated content type, dotted decimal.
	ContentType string
	// Content is the encapsulated content; nil when detached.
	Content []byte
	Signers []SignerReport
}

// SignerReport is the outcome of one signer (or countersigner).
type SignerReport struct {
	Valid bool
	// Certificate is the signer's certificate; empty when unknown.
	Certificate CertificateInfo
	// SigningTime is the signing-time attribute, a claim of the signer;
	// zero when absent.
	SigningTime time.Time
	// Timestamp is the signature timestamp; nil when there is none.
	Timestamp *TimestampReport
	// EvaluatedAt is when the chain and revocation were judged: the
	// timestamp's time plus its accuracy when it is valid, else
	// VerifyRequest.At, else now.
	EvaluatedAt time.Time
	Chain       ChainStatus
	Revocation  Revocation
	Reasons     []Reason
	// CounterSignatures are the countersigners of this signer.
	CounterSignatures []SignerReport
}

// allValid reports whether r and every countersigner under it is valid.
func (r *SignerReport) allValid() bool {
	if !r.Valid {
		return false
	}
	for i := range r.CounterSignatures {
		if !r.CounterSignatures[i].allValid() {
			return false
		}
	}
	return true
}

// TimestampReport is the outcome of a timestamp token.
type TimestampReport struct {
	Valid bool
	// Time is genTime, and Accuracy its accuracy (0 when not given).
	Time     time.Time
	Accuracy time.Duration
	// Serial is the token's serial number in decimal; Policy the TSA
	// policy OID; Nonce the nonce in lower-case hex ("" when absent);
	// HashAlgorithm that of the message imprint: "sm3", "sha256" or
	// "sha1".
	Serial        string
	Policy        string
	Nonce         string
	HashAlgorithm string
	// TSA is the TSA's certificate; empty when unknown.
	TSA        CertificateInfo
	Chain      ChainStatus
	Revocation Revocation
	Reasons    []Reason
}
