package scms

import (
	"context"
	"crypto/sha512"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
)

// The trust list: a certificate chain file (IEEE 1609.2.1
// CertificateChainSpdu) whose home CTL is a multi-signed CTL of type 1
// approving the deployment's root certificate, signed by the root CA as
// its own elector, and whose other certificates are the authorities'.
// Devices pin the root's HashedId8 and check the rest against it.

// homeCTL is the deployment's MultiSignedCtlSpdu.
func (s *Service) homeCTL(ctx context.Context, dep string) (*ieee1609.Data, error) {
	d, err := s.load(ctx, dep)
	if err != nil {
		return nil, err
	}
	group, err := certID(d.root)
	if err != nil {
		return nil, err
	}
	rootEnc, err := sec.CanonicalCert(d.root)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	tbs := ieee1609.FullIeeeTbsCtl{
		Type: 1, ElectorGroupID: group, SequenceNumber: 1, EffectiveDate: ieee1609.Time32Of(d.Created),
		ElectorApprove: []ieee1609.HashedId48{}, ElectorRemove: []ieee1609.HashedId48{},
		RootCaApprove: []ieee1609.HashedId32{ieee1609.HashedId32(s.profile.Hash(rootEnc))},
		RootCaRemove:  []ieee1609.HashedId32{},
	}
	tbsEnc, err := encode(&tbs)
	if err != nil {
		return nil, err
	}
	roots, err := encode(&[]ieee1609.Certificate{*d.root})
	if err != nil {
		return nil, err
	}
	sig, err := s.signPdu(ctx, d.Tenants.Root, keyName(d.Name, "root", "sign"), d.root, pdu(ieee1609.ScmsContent{Cert: &ieee1609.CertManagementPdu{
		TbsCtlSignature: &ieee1609.ToBeSignedCtlSignature{ElectorGroupID: group, CtlType: 1, SequenceNumber: 1, TbsCtlHash: sha512.Sum384(tbsEnc)},
	}}))
	if err != nil {
		return nil, err
	}
	b, err := encode(pdu(ieee1609.ScmsContent{Cert: &ieee1609.CertManagementPdu{MultiSignedCtl: &ieee1609.MultiSignedCtl{
		Type: 1, TbsCtl: tbsEnc, Unsigned: roots, Signatures: []ieee1609.Data{*sig},
	}}}))
	if err != nil {
		return nil, err
	}
	return sec.Unsecured(b), nil
}

// TrustList is the deployment's CertificateChainSpdu: the home CTL and
// the certificates of the intermediate CA, CRL signer, ECA, RA and PCA.
func (s *Service) TrustList(ctx context.Context, dep string) ([]byte, error) {
	d, err := s.load(ctx, dep)
	if err != nil {
		return nil, err
	}
	ctl, err := s.homeCTL(ctx, dep)
	if err != nil {
		return nil, err
	}
	b, err := encode(pdu(ieee1609.ScmsContent{Cert: &ieee1609.CertManagementPdu{CertificateChain: &ieee1609.CertificateChain{
		HomeCtl: *ctl, Others: []ieee1609.Certificate{*d.ica, *d.crl, *d.eca, *d.ra, *d.pca},
	}}}))
	if err != nil {
		return nil, err
	}
	return encode(sec.Unsecured(b))
}
