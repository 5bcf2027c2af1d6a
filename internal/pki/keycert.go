package pki

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"encoding/pem"
	"errors"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/storage"
)

// IssueRequest asks a CA to certify an sm2 key of the key service.
type IssueRequest struct {
	// Key is the key's name or alias in the tenant; the latest version's
	// public key is certified.
	Key     string
	Profile string
	Subject Name
	SANs    SANs
	TTL     time.Duration
}

// Issue certifies the latest version of an sm2 key held in mima. The
// certificate then belongs to the key: CertificateForKey returns it (or a
// later one for the same key, such as its renewal). A key of another type
// is not_sm2.
func (s *Service) Issue(ctx context.Context, tenant, ca string, req IssueRequest) (Certificate, error) {
	subject, err := nameDER(req.Subject)
	if err != nil {
		return Certificate{}, err
	}
	info, err := s.keys.Get(ctx, tenant, req.Key)
	if err != nil {
		return Certificate{}, err
	}
	if info.Type != device.SM2 {
		return Certificate{}, fault.New(fault.NotSM2, "key %q is an %s key; only sm2 keys can be certified", req.Key, info.Type)
	}
	pk, err := s.keys.PublicKey(ctx, tenant, info.Name, info.LatestVersion)
	if err != nil {
		return Certificate{}, err
	}
	pub, err := sm2PublicKey(pk.Key)
	if err != nil {
		return Certificate{}, err
	}
	return s.issueOne(ctx, tenant, ca, req.Profile, req.Subject.CommonName, &issuance{
		kind: ForKey, subject: subject, sans: req.SANs, pub: pub, ttl: req.TTL,
		key: info.Name, keyVersion: pk.Version,
	})
}

// CertificateForKey returns the latest certificate issued (by Issue or
// Renew) for a key of the key service, by key name, whatever its state:
// the caller checks State before using it.
func (s *Service) CertificateForKey(ctx context.Context, tenant, key string) (Certificate, error) {
	if err := checkTenant(tenant); err != nil {
		return Certificate{}, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return Certificate{}, err
	}
	notFound := fault.New(fault.CertificateNotFound, "no certificate was issued for key %q", key)
	if !kms.ValidName(key) {
		return Certificate{}, notFound
	}
	serial, err := st.Get(ctx, keyCertPath(tenant, key))
	if errors.Is(err, storage.ErrNotFound) {
		return Certificate{}, notFound
	}
	if err != nil {
		return Certificate{}, fault.Storage(err)
	}
	c, err := readCert(ctx, st, tenant, string(serial))
	if err != nil {
		return Certificate{}, err
	}
	return c.at(s.clock()), nil
}

// parsePublicKeyPEM reads a PEM "PUBLIC KEY" holding an SM2
// SubjectPublicKeyInfo: anything else is invalid_argument, a key of
// another kind not_sm2.
func parsePublicKeyPEM(s string) (*ecdsa.PublicKey, error) {
	block, rest := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" || strings.TrimSpace(string(rest)) != "" {
		return nil, fault.Invalid(`the public key must be one PEM block "PUBLIC KEY" (SubjectPublicKeyInfo)`)
	}
	pub, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fault.Wrap(err, fault.InvalidArgument, "the public key is not a valid SubjectPublicKeyInfo")
	}
	return sm2PublicKey(pub)
}

// sm2PublicKey returns pub as an SM2 public key; a key of another kind is
// not_sm2.
func sm2PublicKey(pub crypto.PublicKey) (*ecdsa.PublicKey, error) {
	if !sm2.IsSM2PublicKey(pub) {
		return nil, fault.New(fault.NotSM2, "the public key is %s, not SM2 (curve 1.2.156.10197.1.301)", device.DescribeKey(pub))
	}
	return pub.(*ecdsa.PublicKey), nil
}
