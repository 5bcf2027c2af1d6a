package cms

import (
	"bytes"
	"context"
	"encoding/asn1"

	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/fault"
)

// AddSignerRequest asks for a parallel signature on an existing
// SignedData.
type AddSignerRequest struct {
	SignerOptions
	// CMS is the SignedData (a ContentInfo, DER or BER).
	CMS []byte
	// Content is the signed content of a detached SignedData.
	Content []byte
}

// AddSigner returns req.CMS with one more signer over the same content
// and content type, in the OID set the SignedData already uses; the other
// signers are carried over byte for byte. The content (encapsulated, or
// req.Content when detached) must be what the existing signers' message
// digests say. Errors are as for Sign, and cms_malformed for a CMS that
// does not parse.
func (s *Service) AddSigner(ctx context.Context, tenant string, req AddSignerRequest) ([]byte, error) {
	p, err := parseSignedData(req.CMS)
	if err != nil {
		return nil, err
	}
	content := p.content
	if p.detached {
		content = req.Content
	}
	digest := sm3.Sum(content)
	if err := p.checkDigest(digest[:]); err != nil {
		return nil, err
	}
	sg, err := s.loadSigner(ctx, tenant, req.SignerOptions)
	if err != nil {
		return nil, err
	}
	si, err := s.signContent(ctx, tenant, sg, p.oids, p.sd.EncapContent.ContentType, digest[:])
	if err != nil {
		return nil, err
	}
	p.addDigestAlgorithm()
	p.sd.SignerInfos = append(p.sd.SignerInfos, asn1.RawValue{FullBytes: si})
	return p.finish(sg)
}

// checkDigest refuses a content whose SM3 digest is not what an existing
// SM3 signer signed.
func (p *parsedSignedData) checkDigest(digest []byte) error {
	for _, si := range p.signers {
		if !isSM3(si.DigestAlgorithm) {
			continue
		}
		attrs, err := parseAttributes(si.SignedAttrs.Bytes)
		if err != nil {
			return malformed(err, "has a signer with malformed signed attributes")
		}
		v, ok, err := attrs.single(oidMessageDigest)
		if err != nil {
			return malformed(err, "has a signer with malformed signed attributes")
		}
		var md []byte
		if ok && unmarshalAll(v.FullBytes, &md) == nil && !bytes.Equal(md, digest) {
			return fault.Invalid("the content is not what the existing signers signed (their message digest differs)")
		}
	}
	return nil
}
