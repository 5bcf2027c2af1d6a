package pki

import (
	"context"
	"crypto/ecdsa"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
)

// Renew issues a new certificate for the subject, names, key and profile
// of an existing one, with a new serial number and validity (ttl; 0 for
// as long as the old one's). The profile's current rules apply. The old
// certificate stays valid until revoked (reason Superseded). A revoked or
// held certificate is not renewed (already_revoked); a CA's certificate
// is not renewed here.
func (s *Service) Renew(ctx context.Context, tenant, serial string, ttl time.Duration) (Certificate, error) {
	old, err := s.GetCertificate(ctx, tenant, serial)
	if err != nil {
		return Certificate{}, err
	}
	switch old.State {
	case Revoked, OnHold:
		return Certificate{}, fault.New(fault.AlreadyRevoked, "certificate %s is %s and cannot be renewed", old.Serial, old.State)
	}
	if old.Kind == CACert {
		return Certificate{}, fault.Invalid("certificate %s belongs to a CA; CA certificates are not renewed", old.Serial)
	}
	cert, err := smx509.ParseCertificate(old.DER)
	if err != nil {
		return Certificate{}, fault.Unexpected(err)
	}
	if ttl == 0 {
		ttl = old.NotAfter.Sub(old.NotBefore)
	}
	return s.issueOne(ctx, tenant, old.CA, old.Profile, cert.Subject.CommonName, &issuance{
		kind: old.Kind, subject: cert.RawSubject, sans: old.SANs, pub: cert.PublicKey.(*ecdsa.PublicKey), ttl: ttl,
		key: old.Key, keyVersion: old.KeyVersion, escrowKey: old.EscrowKey, renewedFrom: old.Serial,
	})
}
