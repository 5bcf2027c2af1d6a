package cms

import (
	"bytes"
	"encoding/asn1"
	"fmt"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
)

// maxInput bounds every CMS or RFC 3161 structure given by a caller.
const maxInput = 64 << 20

// parsedSignedData is a SignedData as read, kept so that it can be
// written back with a signer more.
type parsedSignedData struct {
	oids oidSet
	sd   signedData
	// content is the encapsulated content; detached when absent.
	content  []byte
	detached bool
	certs    []*smx509.Certificate
	signers  []signerInfo
}

// parseSignedData reads a ContentInfo holding a SignedData, DER or BER,
// of either OID set.
func parseSignedData(in []byte) (*parsedSignedData, error) {
	p, err := readSignedData(in)
	if err != nil {
		return nil, malformed(err, "is not a CMS SignedData (RFC 5652, GM/T 0010)")
	}
	return p, nil
}

func readSignedData(in []byte) (*parsedSignedData, error) {
	if len(in) > maxInput {
		return nil, fmt.Errorf("cms: input longer than %d bytes", maxInput)
	}
	der, err := toDER(in)
	if err != nil {
		return nil, err
	}
	var ci contentInfo
	if err := unmarshalAll(der, &ci); err != nil {
		return nil, err
	}
	p := &parsedSignedData{}
	switch {
	case ci.ContentType.Equal(oidSignedData):
		p.oids = rfcOIDs
	case ci.ContentType.Equal(oidGMSignedData):
		p.oids = gmOIDs
	default:
		return nil, fmt.Errorf("cms: content type %v is not signed data", ci.ContentType)
	}
	if err := unmarshalAll(ci.Content.Bytes, &p.sd); err != nil {
		return nil, err
	}
	if p.content, p.detached, err = encapsulated(p.sd.EncapContent); err != nil {
		return nil, err
	}
	if p.certs, err = parseCertificateSet(p.sd.Certificates); err != nil {
		return nil, err
	}
	p.signers = make([]signerInfo, len(p.sd.SignerInfos))
	for i, raw := range p.sd.SignerInfos {
		if err := unmarshalAll(raw.FullBytes, &p.signers[i]); err != nil {
			return nil, fmt.Errorf("cms: signer %d: %w", i, err)
		}
	}
	return p, nil
}

// encapsulated returns the content of an EncapsulatedContentInfo, or
// detached true when it has none.
func encapsulated(e encapContentInfo) ([]byte, bool, error) {
	if len(e.Content.FullBytes) == 0 {
		return nil, true, nil
	}
	var content []byte
	if err := unmarshalAll(e.Content.Bytes, &content); err != nil {
		return nil, false, fmt.Errorf("cms: the encapsulated content is not an OCTET STRING: %w", err)
	}
	return content, false, nil
}

// parseCertificateSet reads the certificates of a CertificateSet; other
// choices (attribute and other certificates) are skipped.
func parseCertificateSet(set asn1.RawValue) ([]*smx509.Certificate, error) {
	elems, err := elements(set.Bytes)
	if err != nil {
		return nil, err
	}
	var out []*smx509.Certificate
	for _, e := range elems {
		if e.Class != asn1.ClassUniversal || e.Tag != asn1.TagSequence {
			continue
		}
		c, err := smx509.ParseCertificate(e.FullBytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// certificateSet returns set (a CertificateSet as read, or empty) with
// certs added, each certificate once, in DER order.
func certificateSet(set asn1.RawValue, certs []*smx509.Certificate) (asn1.RawValue, error) {
	elems, err := elements(set.Bytes)
	if err != nil {
		return asn1.RawValue{}, err
	}
	var all [][]byte
	for _, e := range elems {
		all = append(all, e.FullBytes)
	}
	for _, c := range certs {
		if !containsBytes(all, c.Raw) {
			all = append(all, c.Raw)
		}
	}
	if len(all) == 0 {
		return asn1.RawValue{}, nil
	}
	return asn1.RawValue{FullBytes: derSet(0xa0, all)}, nil
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

// marshal encodes p.sd as a ContentInfo of p's OID set.
func (p *parsedSignedData) marshal() ([]byte, error) {
	return wrapContentInfo(p.oids.signedData, p.sd)
}

// wrapContentInfo encodes v in a ContentInfo of type typ.
func wrapContentInfo(typ asn1.ObjectIdentifier, v any) ([]byte, error) {
	inner, err := asn1.Marshal(v)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(contentInfo{ContentType: typ, Content: explicit0(inner)})
}

// explicit0 returns the [0] EXPLICIT wrapping of an encoded element, as
// encoding/asn1 needs it to marshal a RawValue field tagged "explicit".
// (It unmarshals such a field with FullBytes the wrapping and Bytes the
// element.)
func explicit0(inner []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner}
}

// addDigestAlgorithm adds SM3 to the digest algorithms unless there.
func (p *parsedSignedData) addDigestAlgorithm() {
	for _, a := range p.sd.DigestAlgorithms {
		if isSM3(a) {
			return
		}
	}
	p.sd.DigestAlgorithms = append(p.sd.DigestAlgorithms, p.oids.algorithm(oidSM3))
}

// checkSigner refuses a signer index out of range.
func (p *parsedSignedData) checkSigner(i int) error {
	if i < 0 || i >= len(p.signers) {
		return fault.Invalid("the SignedData has %d signers; there is no signer %d", len(p.signers), i)
	}
	return nil
}
