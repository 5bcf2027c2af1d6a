package cms

import (
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"

	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/fault"
)

// SignRequest asks for a new SignedData.
type SignRequest struct {
	SignerOptions
	// Content is what is signed.
	Content []byte
	// Detached leaves the content out of the SignedData.
	Detached bool
	// RFC5652 makes it with the OIDs of RFC 5652 instead of GM/T 0010's
	// (see the package documentation).
	RFC5652 bool
}

// Sign returns a DER ContentInfo holding a SignedData with one signer
// over req.Content: SM3 message digest, SM2 signature by req.Key, the
// signer's certificate (and with IncludeChain its CA chain), and a
// signature timestamp when req.TSA is set.
//
// It refuses a certificate that does not certify the key
// (certificate_key_mismatch), that is expired or not yet valid now or at
// the signing time (certificate_expired) or that its CA revoked or put on
// hold (certificate_revoked); a key with no certificate is
// certificate_not_found.
func (s *Service) Sign(ctx context.Context, tenant string, req SignRequest) ([]byte, error) {
	sg, err := s.loadSigner(ctx, tenant, req.SignerOptions)
	if err != nil {
		return nil, err
	}
	oids := oidsFor(req.RFC5652)
	digest := sm3.Sum(req.Content)
	si, err := s.signContent(ctx, tenant, sg, oids, oids.data, digest[:])
	if err != nil {
		return nil, err
	}
	p := &parsedSignedData{oids: oids, sd: signedData{
		Version:          1,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{oids.algorithm(oidSM3)},
		EncapContent:     encapContentInfo{ContentType: oids.data},
		SignerInfos:      []asn1.RawValue{{FullBytes: si}},
	}}
	if !req.Detached {
		octets, err := asn1.Marshal(req.Content)
		if err != nil {
			return nil, fault.Unexpected(err)
		}
		p.sd.EncapContent.Content = explicit0(octets)
	}
	return p.finish(sg)
}

// finish adds the signer's certificates to p and encodes it.
func (p *parsedSignedData) finish(sg *signer) ([]byte, error) {
	certs, err := certificateSet(p.sd.Certificates, sg.certificates())
	if err != nil {
		return nil, malformed(err, "has a malformed certificate set")
	}
	p.sd.Certificates = certs
	der, err := p.marshal()
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return der, nil
}
