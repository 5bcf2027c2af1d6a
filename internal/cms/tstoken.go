package cms

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509/pkix"
	"encoding/asn1"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/pki"
)

// issueToken makes the TimeStampToken of a TSA for q: a ContentInfo
// id-signedData holding a SignedData version 3 whose content is the
// TSTInfo (id-ct-TSTInfo) and whose one SignerInfo signs content-type,
// message-digest and signing-certificate-v2 with SM2 over SM3
// (sm2-with-sm3, identity 1234567812345678). The TSA's certificate is
// included when q asks for it.
func (s *Service) issueToken(ctx context.Context, tenant string, a *tsaState, q *tsQuery) ([]byte, error) {
	sg, err := s.tsaSigner(ctx, tenant, a)
	if err != nil {
		return nil, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	serial, err := s.nextSerial(ctx, st, tenant, a.rec.Name)
	if err != nil {
		return nil, err
	}
	info, err := asn1.Marshal(tstInfo{
		Version: 1, Policy: asn1.RawValue{FullBytes: a.policy}, MessageImprint: q.imprint,
		SerialNumber: serial, GenTime: genTime(s.clock(), a.step), Accuracy: a.acc,
		Nonce: q.nonce, TSA: a.tsaName,
	})
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	digest := sm3.Sum(info)
	attrs, err := contentAttributes(oidTSTInfo, digest[:])
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	si, err := s.newSignerInfo(ctx, tenant, sg, rfcOIDs, append(attrs, a.essAttr))
	if err != nil {
		return nil, err
	}
	octets, err := asn1.Marshal(info)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	p := &parsedSignedData{oids: rfcOIDs, sd: signedData{
		Version:          3,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{rfcOIDs.algorithm(oidSM3)},
		EncapContent:     encapContentInfo{ContentType: oidTSTInfo, Content: explicit0(octets)},
		SignerInfos:      []asn1.RawValue{{FullBytes: si}},
	}}
	if q.certReq {
		if p.sd.Certificates, err = certificateSet(asn1.RawValue{}, []*smx509.Certificate{a.cert}); err != nil {
			return nil, fault.Unexpected(err)
		}
	}
	der, err := p.marshal()
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return der, nil
}

// tsaSigner returns the signer of a TSA, if its certificate is valid now
// and still certifies the latest version of its key.
func (s *Service) tsaSigner(ctx context.Context, tenant string, a *tsaState) (*signer, error) {
	c, err := s.ca.GetCertificate(ctx, tenant, a.rec.Certificate)
	if err != nil {
		return nil, err
	}
	if c.State != pki.Valid {
		return nil, fault.New(fault.TSAUnavailable, "the certificate of TSA %q is %s", a.rec.Name, c.State)
	}
	key, err := s.keys.Signer(ctx, tenant, a.rec.Key)
	if err != nil {
		return nil, fault.Wrap(err, fault.TSAUnavailable, "the key of TSA %q cannot sign", a.rec.Name)
	}
	if !key.Public().(*ecdsa.PublicKey).Equal(a.cert.PublicKey) {
		return nil, fault.New(fault.TSAUnavailable, "the key of TSA %q was rotated after its certificate was issued", a.rec.Name)
	}
	return &signer{key: key, cert: a.cert}, nil
}
