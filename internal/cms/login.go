package cms

import (
	"bytes"
	"context"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/pki"
)

// LoginRequest answers a login challenge.
type LoginRequest struct {
	ChallengeID string
	// Signature is the DER SM2 signature (SEQUENCE { r, s }) over the
	// challenge's nonce, with SM3 under the identity "1234567812345678".
	Signature []byte
	// CertificatePEM is the client's certificate, one PEM block
	// "CERTIFICATE".
	CertificatePEM string
}

// Identity is who a login proved to be, and what token the API should
// mint for them.
type Identity struct {
	Certificate CertificateInfo
	SANs        pki.SANs
	// CA is the CA of the tenant that issued the certificate.
	CA string
	// KGC and SM9ID are, for an SM9 login (LoginSM9), the key generation
	// centre and the identity whose key signed the challenge; the
	// certificate fields are then empty.
	KGC, SM9ID string
	// Rule is the login rule that matched; Policies, TTL and Owner (the
	// token the login token is a child of) are its.
	Rule     string
	Policies []string
	TTL      time.Duration
	Owner    string
}

// Login checks the answer to a login challenge: the challenge is
// consumed first, whatever follows (challenge_invalid when unknown or
// used already, challenge_expired when late); then the signature over
// its nonce (signature_invalid), the certificate's chain to an active CA
// of the tenant now, for client authentication when it has extended key
// usages (certificate_expired, certificate_untrusted), and its
// revocation in the issuing CA's CRL (certificate_revoked, on hold
// included). The first login rule that matches gives the policies and
// TTL; none is login_rule_not_matched.
func (s *Service) Login(ctx context.Context, tenant string, req LoginRequest) (Identity, error) {
	if err := checkTenant(tenant); err != nil {
		return Identity{}, err
	}
	if _, err := s.store.Backend(); err != nil {
		return Identity{}, err
	}
	now := s.clock()
	nonce, err := s.challenges.consume(tenant, req.ChallengeID, now)
	if err != nil {
		return Identity{}, err
	}
	cert, err := parseCertificatePEM(req.CertificatePEM)
	if err != nil {
		return Identity{}, err
	}
	if cert.CheckSignature(smx509.SM2WithSM3, nonce, req.Signature) != nil {
		return Identity{}, fault.New(fault.SignatureInvalid, "the signature over the challenge does not verify with the certificate's key")
	}
	ca, err := s.loginCA(ctx, tenant, cert, now)
	if err != nil {
		return Identity{}, err
	}
	id := Identity{
		Certificate: certificateInfo(cert), CA: ca,
		SANs: pki.SANs{DNS: cert.DNSNames, Email: cert.EmailAddresses},
	}
	for _, ip := range cert.IPAddresses {
		id.SANs.IP = append(id.SANs.IP, ip.String())
	}
	for _, u := range cert.URIs {
		id.SANs.URI = append(id.SANs.URI, u.String())
	}
	return s.matchRule(ctx, tenant, id, "the certificate of "+id.Certificate.Subject)
}

// matchRule fills in id the first login rule of the tenant that matches
// it; none is login_rule_not_matched, quoting who.
func (s *Service) matchRule(ctx context.Context, tenant string, id Identity, who string) (Identity, error) {
	rules, err := s.ListLoginRules(ctx, tenant)
	if err != nil {
		return Identity{}, err
	}
	for _, r := range rules {
		if r.matches(&id) {
			id.Rule, id.Policies, id.TTL, id.Owner = r.Name, r.Policies, r.TTL, r.Owner
			return id, nil
		}
	}
	return Identity{}, fault.New(fault.LoginRuleNotMatched, "no login rule matches %s", who)
}

// loginCA checks that a CA of the tenant issued cert, which chains to an
// active CA of the tenant now and is not revoked, and returns its name.
func (s *Service) loginCA(ctx context.Context, tenant string, cert *smx509.Certificate, now time.Time) (string, error) {
	vc, err := s.newVerifyContext(ctx, tenant, TrustAnchors{}, nil, false, now)
	if err != nil {
		return "", err
	}
	chain, status, reasons := vc.chain(cert, nil, now, smx509.ExtKeyUsageClientAuth)
	switch status {
	case ChainExpired:
		return "", fault.New(fault.CertificateExpired, "the certificate is %s: valid from %s to %s", reasons[0],
			cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
	case ChainUntrusted:
		return "", fault.New(fault.CertificateUntrusted, "the certificate does not chain to a CA of the tenant (for client authentication)")
	}
	if len(chain) < 2 {
		return "", fault.New(fault.CertificateUntrusted, "a CA certificate cannot log in")
	}
	rev, err := vc.revocation(chain)
	if err != nil {
		return "", err
	}
	if rev.Status == Revoked {
		return "", fault.New(fault.CertificateRevoked, "the certificate was revoked (%s) at %s", rev.Reason, rev.RevokedAt.Format(time.RFC3339))
	}
	for _, ca := range vc.cas {
		if bytes.Equal(ca.cert.Raw, chain[1].Raw) {
			return ca.name, nil
		}
	}
	return "", fault.New(fault.CertificateUntrusted, "the certificate was not issued by a CA of the tenant")
}
