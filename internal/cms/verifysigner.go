package cms

import (
	"bytes"
	"encoding/asn1"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// checked is what a SignerInfo says once its signature is checked.
type checked struct {
	cert        *smx509.Certificate // nil when unknown
	signed      attributes
	unsigned    attributes
	signingTime time.Time
	reasons     []Reason
}

// checkSignerInfo checks the signature of si over content, of type
// contentType (nil for a countersignature, whose content is the
// countersigned signature value): the signer's certificate among certs,
// the algorithms (SM3, SM2), the signed attributes and the signature.
func checkSignerInfo(si *signerInfo, certs []*smx509.Certificate, contentType asn1.ObjectIdentifier, content []byte) checked {
	var c checked
	var err error
	if c.unsigned, err = parseAttributes(si.UnsignedAttrs.Bytes); err != nil {
		c.unsigned = nil // unsigned attributes only add timestamps and countersignatures
	}
	if c.cert = findCertificate(certs, si.SID); c.cert == nil {
		c.reasons = []Reason{UnknownCertificate}
		return c
	}
	if !isSM3(si.DigestAlgorithm) || !isSM2Signature(si.SignatureAlgorithm.Algorithm) || !noParams(si.SignatureAlgorithm) || !sm2.IsSM2PublicKey(c.cert.PublicKey) {
		c.reasons = []Reason{UnsupportedAlgorithm}
		return c
	}
	signed := content
	if len(si.SignedAttrs.FullBytes) > 0 {
		if signed, c.reasons = c.checkSignedAttributes(si.SignedAttrs, contentType, content); c.reasons != nil {
			return c
		}
	} else if contentType != nil && !contentType.Equal(oidData) && !contentType.Equal(oidGMData) {
		c.reasons = []Reason{SignedAttributesInvalid} // RFC 5652 section 5.3: required for other content
		return c
	}
	if c.cert.CheckSignature(smx509.SM2WithSM3, signed, si.Signature) != nil {
		c.reasons = []Reason{SignatureInvalid}
	}
	return c
}

// checkSignedAttributes checks the content-type and message-digest
// attributes, reads the signing time, and returns what the signature is
// over: the DER SET OF the attributes (RFC 5652 section 5.4).
func (c *checked) checkSignedAttributes(raw asn1.RawValue, contentType asn1.ObjectIdentifier, content []byte) ([]byte, []Reason) {
	bad := []Reason{SignedAttributesInvalid}
	var err error
	if c.signed, err = parseAttributes(raw.Bytes); err != nil {
		return nil, bad
	}
	md, ok, err := c.signed.single(oidMessageDigest)
	var digest []byte
	if err != nil || !ok || unmarshalAll(md.FullBytes, &digest) != nil {
		return nil, bad
	}
	ct, ok, err := c.signed.single(oidContentType)
	var typ asn1.ObjectIdentifier
	switch {
	case err != nil || ok != (contentType != nil):
		return nil, bad
	case ok && unmarshalAll(ct.FullBytes, &typ) != nil:
		return nil, bad
	case ok && !typ.Equal(contentType):
		return nil, []Reason{ContentTypeMismatch}
	}
	if st, ok, err := c.signed.single(oidSigningTime); err != nil {
		return nil, bad
	} else if ok && unmarshalAll(st.FullBytes, &c.signingTime) != nil {
		return nil, bad
	}
	sum := sm3.Sum(content)
	if !bytes.Equal(digest, sum[:]) {
		return nil, []Reason{ContentDigestMismatch}
	}
	set := bytes.Clone(raw.FullBytes)
	set[0] = tagSet
	return set, nil
}

// isSM2Signature reports whether oid names SM2 (with SM3) as a
// SignerInfo signature algorithm: sm2-1, sm2-with-sm3 or the bare SM2
// key OID.
func isSM2Signature(oid asn1.ObjectIdentifier) bool {
	return oid.Equal(oidSM2Sign) || oid.Equal(oidSM2WithSM3) || oid.Equal(oidSM2)
}

// findCertificate returns the certificate that a SignerIdentifier names:
// by issuer and serial number, or by subject key identifier ([0]).
func findCertificate(certs []*smx509.Certificate, sid asn1.RawValue) *smx509.Certificate {
	var ias issuerAndSerial
	bySerial := sid.Class == asn1.ClassUniversal && unmarshalAll(sid.FullBytes, &ias) == nil
	bySKI := sid.Class == asn1.ClassContextSpecific && sid.Tag == 0 && !sid.IsCompound
	for _, c := range certs {
		switch {
		case bySerial && c.SerialNumber.Cmp(ias.Serial) == 0 && bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes):
			return c
		case bySKI && len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, sid.Bytes):
			return c
		}
	}
	return nil
}
