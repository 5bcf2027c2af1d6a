package pki

import (
	"context"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/storage"
)

// ImportCAParams starts the import of an existing CA as CA name: it
// creates the pending CA with a new CA key and returns the key service's
// import parameters for that key (see kms.ImportParams): the caller wraps
// the CA's private key to ImportParams.PublicKey as a GB/T 35276
// SM2EnvelopedKey (gmsm's sm2.MarshalEnvelopedPrivateKey) and calls
// ImportCA with the token. Called again for the same pending CA, it
// returns fresh parameters.
func (s *Service) ImportCAParams(ctx context.Context, tenant, name string) (_ kms.ImportParams, err error) {
	if err := checkTenant(tenant); err != nil {
		return kms.ImportParams{}, err
	}
	if err := checkNewName("CA", name); err != nil {
		return kms.ImportParams{}, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return kms.ImportParams{}, err
	}
	r, err := readCA(ctx, st, tenant, name)
	switch {
	case err == nil && (r.Kind != Imported || r.State != Pending):
		return kms.ImportParams{}, fault.New(fault.AlreadyExists, "CA %q already exists", name)
	case err == nil:
		return s.keys.ImportParams(ctx, tenant, r.Key)
	case !fault.Is(err, fault.CANotFound):
		return kms.ImportParams{}, err
	}
	key, _, err := s.newCAKey(ctx, tenant, name)
	if err != nil {
		return kms.ImportParams{}, err
	}
	defer s.discardKeyOnError(ctx, tenant, key, &err)
	r = &caRecord{Name: name, Kind: Imported, State: Pending, Key: key, CreatedAt: s.clock()}
	if _, err := s.commitNewCA(ctx, st, tenant, r, nil, nil); err != nil {
		return kms.ImportParams{}, err
	}
	return s.keys.ImportParams(ctx, tenant, key)
}

// ImportCARequest completes the import of a CA.
type ImportCARequest struct {
	// Token is the token of ImportCAParams; WrappedKey the CA's private
	// key wrapped as ImportCAParams says.
	Token      string
	WrappedKey []byte
	// Certificate and Chain are as in InstallRequest.
	Certificate []byte
	Chain       []byte
	Config      Config
}

// ImportCA imports the private key of a pending imported CA and its
// certificate, which must be for that key and pass the checks of
// InstallRequest, and makes the CA active, with its first CRL. The key
// versions before the imported one are retired (SetMinVersions).
func (s *Service) ImportCA(ctx context.Context, tenant, name string, req ImportCARequest) (CA, error) {
	cfg, err := req.Config.normalize()
	if err != nil {
		return CA{}, err
	}
	cert, err := parseCertificate(req.Certificate)
	if err != nil {
		return CA{}, err
	}
	chain, err := parseChain(req.Chain)
	if err != nil {
		return CA{}, err
	}
	// The key is imported before the transaction, which may run more
	// than once and must call out to nothing; the transaction then checks
	// again that the CA is still pending.
	if err := checkTenant(tenant); err != nil {
		return CA{}, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return CA{}, err
	}
	r, err := readCA(ctx, st, tenant, name)
	if err != nil {
		return CA{}, err
	}
	if err := pendingImport(r); err != nil {
		return CA{}, err
	}
	now := s.clock()
	if err := checkCACert(cert, chain, nil, now); err != nil {
		return CA{}, err
	}
	info, err := s.keys.Import(ctx, tenant, r.Key, kms.ImportRequest{Token: req.Token, WrappedMaterial: req.WrappedKey})
	if err != nil {
		return CA{}, err
	}
	pub, err := s.publicKey(ctx, tenant, r.Key)
	if err != nil {
		return CA{}, err
	}
	if !pub.Equal(cert.PublicKey) {
		return CA{}, fault.New(fault.CertificateInvalid, "the certificate is not for the imported key")
	}
	if _, err := s.keys.SetMinVersions(ctx, tenant, r.Key, kms.MinVersions{Decryption: info.LatestVersion}); err != nil {
		return CA{}, err
	}
	return s.updateCA(ctx, tenant, name, func(tx storage.Backend, r *caRecord) ([]storage.Op, error) {
		if err := pendingImport(r); err != nil {
			return nil, err
		}
		r.State, r.Certificate, r.Chain, r.Config = Active, cert.Raw, rawChain(chain), cfg
		return s.firstCRL(ctx, tx, tenant, r, now)
	})
}

// pendingImport refuses a CA that is not an imported one waiting for its
// key.
func pendingImport(r *caRecord) error {
	if r.Kind != Imported || r.State != Pending {
		return fault.New(fault.AlreadyExists, "CA %q is not waiting for an import", r.Name)
	}
	return nil
}
