package pki

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

// issuance is one certificate to issue.
type issuance struct {
	ca      *authority
	profile *profile
	kind    Kind
	subject []byte // DER Name
	sans    SANs
	pub     *ecdsa.PublicKey
	ttl     time.Duration // checked against the profile
	// Optional: the key service key certified, the escrow key, the other
	// half of a dual pair, the renewed certificate and a serial allocated
	// beforehand.
	key         string
	keyVersion  int
	escrowKey   string
	pair        string
	renewedFrom string
	serial      *big.Int
}

// check applies the profile's name and validity rules; it sets the
// validity to use.
func (in *issuance) check(cn string) error {
	ttl, err := in.profile.validity(in.ttl)
	if err != nil {
		return err
	}
	if len(in.subject) <= len(emptyName) && in.sans.count() == 0 {
		return fault.Invalid("a certificate needs a subject or at least one subject alternative name")
	}
	if err := checkSubjectDER(in.subject); err != nil {
		return err
	}
	if err := in.sans.check(); err != nil {
		return err
	}
	if in.profile.CA {
		if err := checkPathLen(in.ca.cert, in.profile.MaxPathLen, in.profile.Name); err != nil {
			return err
		}
	}
	in.ttl = ttl
	return in.profile.checkNames(cn, in.sans)
}

// emptyName is the DER of an empty distinguished name.
var emptyName = []byte{0x30, 0x00}

// checkPathLen checks that parent may sign a CA certificate with path
// length constraint child.
func checkPathLen(parent *smx509.Certificate, child int, profile string) error {
	switch {
	case parent.MaxPathLenZero:
		return violation(profile, "max_path_len", "the issuing CA has path length 0 and cannot certify CAs")
	case parent.MaxPathLen > 0 && (child == UnlimitedPathLen || child >= parent.MaxPathLen):
		return violation(profile, "max_path_len", "the path length must be below the issuing CA's %d", parent.MaxPathLen)
	}
	return nil
}

// issue signs the certificate of in and returns its record with the ops
// that store it. A new serial is read as absent from st, which should be
// a transaction (storage.Atomic) so that the absence is its condition.
func (s *Service) issue(ctx context.Context, st storage.Backend, tenant string, in *issuance, now time.Time) (*Certificate, []storage.Op, error) {
	serial := in.serial
	if serial == nil {
		var err error
		if serial, err = s.newSerial(ctx, st, tenant); err != nil {
			return nil, nil, err
		}
	}
	ski, err := keyID(in.pub)
	if err != nil {
		return nil, nil, fault.Invalid("the public key cannot be encoded: %v", err)
	}
	ca := in.ca
	t := &smx509.Certificate{
		SerialNumber: serial, RawSubject: in.subject, SubjectKeyId: ski,
		NotBefore: now, NotAfter: now.Add(in.ttl), SignatureAlgorithm: smx509.SM2WithSM3,
	}
	if t.NotAfter.After(ca.cert.NotAfter) {
		t.NotAfter = ca.cert.NotAfter
	}
	if u := ca.rec.Config.CRLURL; u != "" {
		t.CRLDistributionPoints = []string{u}
	}
	if u := ca.rec.Config.OCSPURL; u != "" {
		t.OCSPServer = []string{u}
	}
	in.profile.apply(t)
	if err := in.sans.apply(t); err != nil {
		return nil, nil, err
	}
	der, err := s.sign(ctx, tenant, ca.rec.Key, t, ca.cert, in.pub)
	if err != nil {
		return nil, nil, err
	}
	c, err := certRecord(der, ca.rec.Name, in.kind, now)
	if err != nil {
		return nil, nil, err
	}
	c.Profile, c.Key, c.KeyVersion = in.profile.Name, in.key, in.keyVersion
	c.EscrowKey, c.Pair, c.RenewedFrom = in.escrowKey, in.pair, in.renewedFrom
	ops, err := newCertOps(tenant, c)
	if err != nil {
		return nil, nil, err
	}
	return c, ops, nil
}

// sign has the CA key signKey sign template t under parent (t itself for
// a self-signed certificate) for pub.
func (s *Service) sign(ctx context.Context, tenant, signKey string, t, parent *smx509.Certificate, pub *ecdsa.PublicKey) ([]byte, error) {
	signer, err := s.keys.Signer(ctx, tenant, signKey)
	if err != nil {
		return nil, err
	}
	der, err := smx509.CreateCertificate(s.rand, t, parent, pub, signer)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return der, nil
}

// certRecord describes a certificate just signed.
func certRecord(der []byte, ca string, kind Kind, now time.Time) (*Certificate, error) {
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return &Certificate{
		Serial: serialString(cert.SerialNumber), CA: ca, Kind: kind, DER: der,
		Subject: cert.Subject.String(), SANs: sansOf(cert.DNSNames, cert.EmailAddresses, cert.IPAddresses, cert.URIs),
		NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, State: Valid, IssuedAt: now,
	}, nil
}

// issueOne issues the certificate of in under a profile of an active CA
// and stores it; cn is the subject common name, for the profile check.
func (s *Service) issueOne(ctx context.Context, tenant, ca, profileName, cn string, in *issuance) (Certificate, error) {
	now := s.clock()
	a, err := s.activeCA(ctx, tenant, ca, now)
	if err != nil {
		return Certificate{}, err
	}
	if in.profile, err = s.loadProfile(ctx, tenant, ca, profileName); err != nil {
		return Certificate{}, err
	}
	in.ca = a
	if err := in.check(cn); err != nil {
		return Certificate{}, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return Certificate{}, err
	}
	// No lock: the certificate's paths are new, and its serial is claimed
	// by the transaction's condition that no certificate has it, so
	// issuers never wait on each other and none holds anything across the
	// signature.
	var c *Certificate
	err = storage.Atomic(ctx, st, func(tx storage.Backend) error {
		var ops []storage.Op
		if c, ops, err = s.issue(ctx, tx, tenant, in, now); err != nil {
			return err
		}
		return tx.Batch(ctx, ops)
	})
	if err != nil {
		return Certificate{}, fault.Storage(err)
	}
	return *c, nil
}
