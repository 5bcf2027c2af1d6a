package pki

import (
	"context"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

// CA validities.
const (
	DefaultRootTTL         = 10 * 365 * 24 * time.Hour
	DefaultIntermediateTTL = 5 * 365 * 24 * time.Hour
	MaxCATTL               = 30 * 365 * 24 * time.Hour
)

// CreateCARequest describes a new CA.
type CreateCARequest struct {
	Name    string
	Subject Name
	// TTL is the CA certificate's validity: up to MaxCATTL; 0 means
	// DefaultRootTTL for roots and DefaultIntermediateTTL otherwise. An
	// intermediate's is cut to its parent's notAfter.
	TTL time.Duration
	// MaxPathLen is the path length constraint: how many CAs may follow
	// this one in a chain; 0 lets it certify end entities only,
	// UnlimitedPathLen sets no limit.
	MaxPathLen int
	Config     Config
}

func (req *CreateCARequest) check(defaultTTL time.Duration) (Config, error) {
	if err := checkNewName("CA", req.Name); err != nil {
		return Config{}, err
	}
	if req.Subject.empty() {
		return Config{}, fault.Invalid("a CA needs a subject")
	}
	if req.TTL == 0 {
		req.TTL = defaultTTL
	}
	if req.TTL < 0 || req.TTL > MaxCATTL {
		return Config{}, fault.Invalid("a CA's validity (ttl) is at most %s", MaxCATTL)
	}
	if req.MaxPathLen < UnlimitedPathLen {
		return Config{}, fault.Invalid("max_path_len is at least %d (unlimited)", UnlimitedPathLen)
	}
	return req.Config.normalize()
}

// CreateRoot creates a root CA: a new CA key and a self-signed SM2/SM3
// certificate (keyCertSign, cRLSign, digitalSignature) and its first CRL.
func (s *Service) CreateRoot(ctx context.Context, tenant string, req CreateCARequest) (CA, error) {
	cfg, err := req.check(DefaultRootTTL)
	if err != nil {
		return CA{}, err
	}
	return s.createCA(ctx, tenant, req, cfg, "", Root)
}

// CreateIntermediate creates a CA whose certificate the active CA parent
// of the same tenant signs, with the parent's CRL and OCSP URLs. The
// parent's path length constraint must allow it. The certificate is also
// one of the parent's issued certificates, so that the parent can revoke
// it.
func (s *Service) CreateIntermediate(ctx context.Context, tenant, parent string, req CreateCARequest) (CA, error) {
	cfg, err := req.check(DefaultIntermediateTTL)
	if err != nil {
		return CA{}, err
	}
	return s.createCA(ctx, tenant, req, cfg, parent, Intermediate)
}

// createCA creates a root (parent "") or intermediate CA.
func (s *Service) createCA(ctx context.Context, tenant string, req CreateCARequest, cfg Config, parent string, kind CAKind) (_ CA, err error) {
	// No lock across the key's creation and the signature: the name and
	// the serial are claimed by the final transaction's conditions, and a
	// creator that loses the race discards its key.
	st, err := s.checkNewCA(ctx, tenant, req.Name)
	if err != nil {
		return CA{}, err
	}
	now := s.clock()
	var issuer *authority
	if kind == Intermediate {
		if issuer, err = s.activeCA(ctx, tenant, parent, now); err != nil {
			return CA{}, err
		}
		if err := checkPathLen(issuer.cert, req.MaxPathLen, "CA "+parent); err != nil {
			return CA{}, err
		}
	}
	subject, err := nameDER(req.Subject)
	if err != nil {
		return CA{}, err
	}
	serial, err := s.newSerial(ctx, st, tenant)
	if err != nil {
		return CA{}, err
	}
	key, pub, err := s.newCAKey(ctx, tenant, req.Name)
	if err != nil {
		return CA{}, err
	}
	defer s.discardKeyOnError(ctx, tenant, key, &err)
	ski, err := keyID(pub)
	if err != nil {
		return CA{}, fault.Unexpected(err)
	}
	t := &smx509.Certificate{
		SerialNumber: serial, RawSubject: subject, SubjectKeyId: ski,
		NotBefore: now, NotAfter: now.Add(req.TTL), SignatureAlgorithm: smx509.SM2WithSM3,
		KeyUsage:              smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign | smx509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, IsCA: true,
		MaxPathLen: req.MaxPathLen, MaxPathLenZero: req.MaxPathLen == 0,
	}
	signKey, parentCert, issuerName := key, t, req.Name
	r := &caRecord{Name: req.Name, Kind: kind, State: Active, Key: key, Config: cfg, CreatedAt: now}
	if issuer != nil {
		if t.NotAfter.After(issuer.cert.NotAfter) {
			t.NotAfter = issuer.cert.NotAfter
		}
		if u := issuer.rec.Config.CRLURL; u != "" {
			t.CRLDistributionPoints = []string{u}
		}
		if u := issuer.rec.Config.OCSPURL; u != "" {
			t.OCSPServer = []string{u}
		}
		signKey, parentCert, issuerName = issuer.rec.Key, issuer.cert, parent
		r.Parent, r.Chain = parent, append([][]byte{issuer.rec.Certificate}, issuer.rec.Chain...)
	}
	der, err := s.sign(ctx, tenant, signKey, t, parentCert, pub)
	if err != nil {
		return CA{}, err
	}
	r.Certificate = der
	c, err := certRecord(der, issuerName, CACert, now)
	if err != nil {
		return CA{}, err
	}
	ops, err := newCertOps(tenant, c)
	if err != nil {
		return CA{}, err
	}
	a, err := s.commitNewCA(ctx, st, tenant, r, ops, func(tx storage.Backend) ([]storage.Op, error) {
		return s.firstCRL(ctx, tx, tenant, r, now)
	}, serial)
	if err != nil {
		return CA{}, err
	}
	return a.info(), nil
}

// firstCRL returns the ops that store the first CRL of the CA of r, which
// is becoming active; st is the transaction that stores r.
func (s *Service) firstCRL(ctx context.Context, st storage.Backend, tenant string, r *caRecord, now time.Time) ([]storage.Op, error) {
	a, err := newAuthority(tenant, r)
	if err != nil {
		return nil, err
	}
	return s.makeCRL(ctx, st, a, now)
}

// checkNewCA checks that the tenant has no CA name, so that a creation
// fails before it creates a key; the creation's transaction claims the
// name (commitNewCA).
func (s *Service) checkNewCA(ctx context.Context, tenant, name string) (storage.Backend, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	if err := checkNewName("CA", name); err != nil {
		return nil, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	if err := claimCAName(ctx, st, tenant, name); err != nil {
		return nil, err
	}
	return st, nil
}
