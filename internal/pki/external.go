package pki

import (
	"context"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

// CreateExternalRequest describes a CA whose certificate another CA
// (outside mima, or another mima) will issue.
type CreateExternalRequest struct {
	Name    string
	Subject Name
	Config  Config
}

// CreateExternal creates a pending external CA: a new CA key and a CSR
// for it (CA.CSR, SM2/SM3, identity 1234567812345678) to take to the
// issuing CA. InstallCertificate completes it.
func (s *Service) CreateExternal(ctx context.Context, tenant string, req CreateExternalRequest) (_ CA, err error) {
	cfg, err := req.Config.normalize()
	if err != nil {
		return CA{}, err
	}
	if req.Subject.empty() {
		return CA{}, fault.Invalid("a CA needs a subject")
	}
	subject, err := nameDER(req.Subject)
	if err != nil {
		return CA{}, err
	}
	st, err := s.checkNewCA(ctx, tenant, req.Name)
	if err != nil {
		return CA{}, err
	}
	key, _, err := s.newCAKey(ctx, tenant, req.Name)
	if err != nil {
		return CA{}, err
	}
	defer s.discardKeyOnError(ctx, tenant, key, &err)
	signer, err := s.keys.Signer(ctx, tenant, key)
	if err != nil {
		return CA{}, err
	}
	csr, err := smx509.CreateCertificateRequest(s.rand, &smx509.CertificateRequest{
		RawSubject: subject, SignatureAlgorithm: smx509.SM2WithSM3,
	}, signer)
	if err != nil {
		return CA{}, fault.Unexpected(err)
	}
	r := &caRecord{Name: req.Name, Kind: External, State: Pending, Key: key, CSR: csr, Config: cfg, CreatedAt: s.clock()}
	a, err := s.commitNewCA(ctx, st, tenant, r, nil, nil)
	if err != nil {
		return CA{}, err
	}
	return a.info(), nil
}

// InstallRequest completes an external CA.
type InstallRequest struct {
	// Certificate is the CA's certificate, DER or PEM: for the CA's key,
	// a CA certificate (basic constraints cA) with keyCertSign and cRLSign
	// usage and a subject key identifier, currently valid.
	Certificate []byte
	// Chain optionally holds the issuers, PEM, nearest first, up to and
	// including the root: each must have signed the certificate before
	// it. Chain returns them after the CA's own certificate.
	Chain []byte
}

// InstallCertificate gives a pending external CA its certificate and
// makes it active, with its first CRL. A certificate that fails a check
// is certificate_invalid (not_sm2, ca_expired where those apply).
func (s *Service) InstallCertificate(ctx context.Context, tenant, ca string, req InstallRequest) (CA, error) {
	return s.updateCA(ctx, tenant, ca, func(st storage.Backend, r *caRecord) ([]storage.Op, error) {
		if r.Kind != External || r.State != Pending {
			return nil, fault.New(fault.AlreadyExists, "CA %q already has its certificate", ca)
		}
		cert, err := parseCertificate(req.Certificate)
		if err != nil {
			return nil, err
		}
		chain, err := parseChain(req.Chain)
		if err != nil {
			return nil, err
		}
		pub, err := s.publicKey(ctx, tenant, r.Key)
		if err != nil {
			return nil, err
		}
		now := s.clock()
		if err := checkCACert(cert, chain, pub, now); err != nil {
			return nil, err
		}
		r.State, r.Certificate, r.Chain = Active, cert.Raw, rawChain(chain)
		return s.firstCRL(ctx, st, tenant, r, now)
	})
}
