package cms

import (
	"context"
	"encoding/asn1"

	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/fault"
)

// CounterSignRequest asks for a countersignature on a signer of an
// existing SignedData.
type CounterSignRequest struct {
	SignerOptions
	// CMS is the SignedData (a ContentInfo, DER or BER).
	CMS []byte
	// Signer is the index of the countersigned signer in the SignedData's
	// signerInfos, in encoded order.
	Signer int
}

// CounterSign returns req.CMS with a countersignature (RFC 5652 section
// 11.4) on one of its signers: a SignerInfo over the SM3 digest of that
// signer's signature value, with message-digest and signing-time but no
// content-type attribute, added as a value of the countersigned signer's
// id-countersignature unsigned attribute. The countersigner's
// certificates join the SignedData's. Errors are as for AddSigner.
func (s *Service) CounterSign(ctx context.Context, tenant string, req CounterSignRequest) ([]byte, error) {
	p, err := parseSignedData(req.CMS)
	if err != nil {
		return nil, err
	}
	if err := p.checkSigner(req.Signer); err != nil {
		return nil, err
	}
	sg, err := s.loadSigner(ctx, tenant, req.SignerOptions)
	if err != nil {
		return nil, err
	}
	target := p.signers[req.Signer]
	digest := sm3.Sum(target.Signature)
	cs, err := s.signContent(ctx, tenant, sg, p.oids, nil, digest[:])
	if err != nil {
		return nil, err
	}
	if target.UnsignedAttrs, err = addUnsigned(target.UnsignedAttrs, oidCounterSignature, cs); err != nil {
		return nil, err
	}
	der, err := asn1.Marshal(target)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	p.sd.SignerInfos[req.Signer] = asn1.RawValue{FullBytes: der}
	return p.finish(sg)
}

// addUnsigned returns the unsigned attributes unsigned with value (DER)
// added to the attribute typ, which is created if absent.
func addUnsigned(unsigned asn1.RawValue, typ asn1.ObjectIdentifier, value []byte) (asn1.RawValue, error) {
	attrs, err := parseAttributes(unsigned.Bytes)
	if err != nil {
		return asn1.RawValue{}, malformed(err, "has a signer with malformed unsigned attributes")
	}
	added := false
	for i := range attrs {
		if attrs[i].Type.Equal(typ) && !added {
			attrs[i].Values = append(attrs[i].Values, asn1.RawValue{FullBytes: value})
			added = true
		}
	}
	if !added {
		attrs = append(attrs, attribute{Type: typ, Values: []asn1.RawValue{{FullBytes: value}}})
	}
	encoded := make([][]byte, len(attrs))
	for i, a := range attrs {
		if encoded[i], err = asn1.Marshal(a); err != nil {
			return asn1.RawValue{}, fault.Unexpected(err)
		}
	}
	return asn1.RawValue{FullBytes: derSet(tagUnsignedAttrs, encoded)}, nil
}
