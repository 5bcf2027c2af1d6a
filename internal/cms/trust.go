package cms

import (
	"context"
	"errors"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/pki"
)

// TrustAnchors are the certificates a chain must lead to. With neither
// field set, every active CA of the tenant is a trust anchor.
type TrustAnchors struct {
	// CAs names CAs of the tenant whose certificates are trust anchors
	// (an intermediate CA anchors only what it issued).
	CAs []string
	// PEM holds more trust anchors: PEM blocks "CERTIFICATE".
	PEM string
}

// verifyContext is what one verification judges chains and revocation
// with.
type verifyContext struct {
	s      *Service
	ctx    context.Context
	tenant string
	roots  *smx509.CertPool
	// cas are the tenant's active CAs with their certificates, which
	// also serve as intermediates.
	cas     []tenantCA
	crls    []*smx509.RevocationList
	useOCSP bool
	at      time.Time
	// caCRLs caches the CRLs of the tenant's CAs read so far, by name.
	caCRLs map[string]*smx509.RevocationList
}

// tenantCA is an active CA of the tenant.
type tenantCA struct {
	name string
	cert *smx509.Certificate
}

// newVerifyContext prepares a verification for tenant: the trust
// anchors, the tenant's CAs, the caller's CRLs, and the time, at or now.
func (s *Service) newVerifyContext(ctx context.Context, tenant string, trust TrustAnchors, crls [][]byte, useOCSP bool, at time.Time) (*verifyContext, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	if _, err := s.store.Backend(); err != nil {
		return nil, err
	}
	vc := &verifyContext{
		s: s, ctx: ctx, tenant: tenant, roots: smx509.NewCertPool(), useOCSP: useOCSP,
		at: at.UTC(), caCRLs: map[string]*smx509.RevocationList{},
	}
	if at.IsZero() {
		vc.at = s.clock()
	}
	cas, err := s.ca.ListCAs(ctx, tenant)
	if err != nil {
		return nil, err
	}
	for _, ca := range cas {
		if ca.State != pki.Active {
			continue
		}
		cert, err := parseCertificate(ca.Certificate)
		if err != nil {
			return nil, err
		}
		vc.cas = append(vc.cas, tenantCA{ca.Name, cert})
	}
	if err := vc.addAnchors(trust); err != nil {
		return nil, err
	}
	for i, der := range crls {
		crl, err := smx509.ParseRevocationList(der)
		if err != nil {
			return nil, fault.Wrap(err, fault.InvalidArgument, "CRL %d is not a DER X.509 CRL", i)
		}
		vc.crls = append(vc.crls, crl)
	}
	return vc, nil
}

// addAnchors adds the trust anchors to vc.roots.
func (vc *verifyContext) addAnchors(trust TrustAnchors) error {
	if len(trust.CAs) == 0 && trust.PEM == "" {
		for _, ca := range vc.cas {
			vc.roots.AddCert(ca.cert)
		}
		return nil
	}
	for _, name := range trust.CAs {
		ca, err := vc.s.ca.GetCA(vc.ctx, vc.tenant, name)
		if err != nil {
			return err
		}
		if ca.State != pki.Active {
			return fault.New(fault.CAPending, "CA %q has no certificate yet", name)
		}
		cert, err := parseCertificate(ca.Certificate)
		if err != nil {
			return err
		}
		vc.roots.AddCert(cert)
	}
	if trust.PEM != "" {
		certs, err := parseCertificatesPEM(trust.PEM)
		if err != nil {
			return fault.Wrap(err, fault.InvalidArgument, `the trust anchors must be PEM blocks "CERTIFICATE"`)
		}
		for _, c := range certs {
			vc.roots.AddCert(c)
		}
	}
	return nil
}

// chain builds a chain from cert, with extra (the SignedData's
// certificates) and the tenant's CAs as intermediates, to a trust anchor
// at time at, for usage.
func (vc *verifyContext) chain(cert *smx509.Certificate, extra []*smx509.Certificate, at time.Time, usage smx509.ExtKeyUsage) ([]*smx509.Certificate, ChainStatus, []Reason) {
	switch {
	case at.Before(cert.NotBefore):
		return nil, ChainExpired, []Reason{CertificateNotYetValid}
	case at.After(cert.NotAfter):
		return nil, ChainExpired, []Reason{CertificateExpired}
	}
	inter := smx509.NewCertPool()
	for _, c := range extra {
		inter.AddCert(c)
	}
	for _, ca := range vc.cas {
		inter.AddCert(ca.cert)
	}
	chains, err := cert.Verify(smx509.VerifyOptions{
		Roots: vc.roots, Intermediates: inter, CurrentTime: at, KeyUsages: []smx509.ExtKeyUsage{usage},
	})
	var invalid smx509.CertificateInvalidError
	switch {
	case err == nil:
		return chains[0], ChainTrusted, nil
	case errors.As(err, &invalid) && invalid.Reason == smx509.Expired:
		return nil, ChainExpired, []Reason{CertificateExpired}
	}
	return nil, ChainUntrusted, []Reason{UntrustedChain}
}

// judge builds the chain of cert at time at and checks its revocation: a
// revocation at or before at makes it invalid, a later one is only
// reported.
func (vc *verifyContext) judge(cert *smx509.Certificate, extra []*smx509.Certificate, at time.Time, usage smx509.ExtKeyUsage) (ChainStatus, Revocation, []Reason, error) {
	chain, status, reasons := vc.chain(cert, extra, at, usage)
	rev := Revocation{Status: Unknown}
	if status != ChainTrusted {
		return status, rev, reasons, nil
	}
	rev, err := vc.revocation(chain)
	if err != nil {
		return "", Revocation{}, nil, err
	}
	if rev.Status == Revoked && !rev.RevokedAt.After(at) {
		reasons = append(reasons, CertificateRevoked)
	}
	return status, rev, reasons, nil
}
