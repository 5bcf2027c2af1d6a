package cms

import (
	"context"
	"encoding/asn1"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
)

// signContent makes the SignerInfo of sg over content whose SM3 digest is
// digest and whose type is contentType: a countersignature when
// contentType is nil, whose "content" is the countersigned signature
// value and which has no content-type attribute (RFC 5652 section 11.4).
func (s *Service) signContent(ctx context.Context, tenant string, sg *signer, oids oidSet, contentType asn1.ObjectIdentifier, digest []byte) ([]byte, error) {
	attrs, err := signedAttributes(contentType, digest, sg.signingTime)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return s.newSignerInfo(ctx, tenant, sg, oids, attrs)
}

// signedAttributes encodes the content-type (unless nil), message-digest
// and signing-time attributes.
func signedAttributes(contentType asn1.ObjectIdentifier, digest []byte, at time.Time) ([][]byte, error) {
	attrs, err := contentAttributes(contentType, digest)
	if err != nil {
		return nil, err
	}
	st, err := newAttribute(oidSigningTime, at.UTC().Truncate(time.Second))
	if err != nil {
		return nil, err
	}
	return append(attrs, st), nil
}

// contentAttributes encodes the content-type (unless nil) and
// message-digest attributes.
func contentAttributes(contentType asn1.ObjectIdentifier, digest []byte) ([][]byte, error) {
	var attrs [][]byte
	if contentType != nil {
		a, err := newAttribute(oidContentType, contentType)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, a)
	}
	md, err := newAttribute(oidMessageDigest, digest)
	if err != nil {
		return nil, err
	}
	return append(attrs, md), nil
}

// newSignerInfo signs the DER SET OF attrs with sg (SM2 over SM3, identity
// 1234567812345678) and returns the encoded SignerInfo, with the
// signature stamped by sg's TSA if it has one.
func (s *Service) newSignerInfo(ctx context.Context, tenant string, sg *signer, oids oidSet, attrs [][]byte) ([]byte, error) {
	sig, err := sg.key.Sign(nil, derSet(tagSet, attrs), sm2.DefaultSM2SignerOpts)
	if err != nil {
		return nil, err
	}
	sid, err := signerID(sg.cert)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	si := signerInfo{
		Version: 1, SID: sid, DigestAlgorithm: oids.algorithm(oidSM3),
		SignedAttrs:        asn1.RawValue{FullBytes: derSet(tagSignedAttrs, attrs)},
		SignatureAlgorithm: oids.algorithm(oids.sigAlg), Signature: sig,
	}
	if sg.tsa != "" {
		digest := sm3.Sum(sig)
		token, err := s.stamp(ctx, tenant, sg.tsa, digest[:])
		if err != nil {
			return nil, err
		}
		attr, err := newAttribute(oidSignatureTimeAttr, asn1.RawValue{FullBytes: token})
		if err != nil {
			return nil, fault.Unexpected(err)
		}
		si.UnsignedAttrs = asn1.RawValue{FullBytes: derSet(tagUnsignedAttrs, [][]byte{attr})}
	}
	der, err := asn1.Marshal(si)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return der, nil
}

// signerID returns the IssuerAndSerialNumber of cert.
func signerID(cert *smx509.Certificate) (asn1.RawValue, error) {
	der, err := asn1.Marshal(issuerAndSerial{Issuer: asn1.RawValue{FullBytes: cert.RawIssuer}, Serial: cert.SerialNumber})
	return asn1.RawValue{FullBytes: der}, err
}
