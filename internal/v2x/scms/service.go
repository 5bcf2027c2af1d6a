// Package scms runs the authorities of a V2X security credential
// management system (IEEE 1609.2.1-2020, YD/T 3957-2021) with SM2, SM3
// and SM4: a root CA and an intermediate CA, the enrolment CA (ECA), the
// registration authority (RA), two linkage authorities (LA1, LA2), the
// pseudonym CA (PCA, which also issues application certificates to
// roadside units), the misbehaviour authority (MA) and the CRL signer.
// It knows nothing of HTTP.
//
// A deployment places each authority in a tenant; the privacy-critical
// roles (RA, LA1, LA2, PCA, MA) must be in five different tenants, so
// that no one tenant's operator holds two of them. Every authority key is
// a non-exportable sm2 (or, for the LA's linkage chain identifiers, sm4)
// key of the key service in its tenant, named "v2x-<deployment>-<role>-
// <purpose>".
//
// What each authority stores, under t/<tenant>/v2x/<deployment>/<role>/
// (<p> is the five-digit i-period in which the certificates concerned
// expire, so that Tidy deletes whole periods):
//
//	eca/devices/<id>        an allowed device: id, kind, the digests of its
//	                        enrolment certificates, blocked or not
//	eca/enrolled/<digest>   an enrolment certificate: device, HashedId10,
//	                        expiry
//	ra/requests/<hash>      a pseudonym request: the enrolment certificate
//	                        digest, first i-period, count, what is pending,
//	                        an encrypted linkage chain identifier (eLCI) of
//	                        each LA's chain
//	ra/enrolments/<digest>/<hash>
//	ra/expiry/<p>/<hash>    indexes of the requests
//	ra/pcareq/<p>/<hash>    per PCA request hash, its device request
//	ra/queue/<random>       a cocoon request waiting for the next batch
//	ra/files/<p>/<hash>/<i> the encrypted certificate responses of a period
//	ra/blocked/<digest>     an enrolment certificate the MA blocked
//	la/chains/<p>/<id>      a linkage chain: first seed, first and last period
//	pca/issued/<p>/<digest> a certificate's PCA request hash
//	pca/roadside/<p>/<hash> per PCA request hash, the HashedId10 and expiry
//	                        of the roadside unit certificate it produced
//	ma/reports/<digest>     a reported certificate's revocation
//	ma/revoked/<digest>     a revoked device's revocation, by each of its
//	                        enrolment certificates
//	crl/linked/<random>     a revoked request's seeds (at the period they
//	                        were revoked)
//	crl/hashed/<series>/<id10>
//	                        a revoked enrolment or roadside certificate
//
// The RA knows which device made a request, but sees neither the
// certificates (encrypted to the device) nor the linkage values; the LAs
// know seeds but neither devices nor certificates; the PCA knows each
// certificate and its request hash but not the device, and no two of a
// device's certificates share anything it stores.
package scms

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mimacrypto/mima/internal/cache"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
	"github.com/mimacrypto/mima/internal/v2x/sec"
)

// Keys is what the SCMS needs of a key service: it creates the
// authorities' keys, signs and decrypts with them through crypto.Signer
// and crypto.Decrypter, and seals the LAs' linkage chain identifiers
// with their sm4 keys. *kms.Service implements it.
type Keys interface {
	Create(ctx context.Context, tenant string, req kms.CreateRequest) (kms.KeyInfo, error)
	Signer(ctx context.Context, tenant, ref string) (crypto.Signer, error)
	Decrypter(ctx context.Context, tenant, ref string) (crypto.Decrypter, error)
	Encrypt(ctx context.Context, tenant, key string, req kms.EncryptRequest) (string, error)
	Decrypt(ctx context.Context, tenant, key string, req kms.DecryptRequest) ([]byte, error)
}

var _ Keys = (*kms.Service)(nil)

// Service runs the authorities of every deployment. It implements
// sealstate.Component: it serves only while unsealed.
type Service struct {
	keys    Keys
	remote  func(RemoteLA) (LinkageAuthority, error)
	rand    io.Reader
	now     func() time.Time
	profile *sec.Profile

	cacheSize int
	store     storage.Slot // empty while sealed; purges the cache
	deps      *cache.Cache[paths.Deployment, *deployment]
}

// Option configures a Service.
type Option func(*Service)

// WithRand sets the randomness for keys, nonces and shuffles.
func WithRand(r io.Reader) Option { return func(s *Service) { s.rand = r } }

// WithClock sets the clock of certificates, i-periods and CRLs.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithRemoteLA lets deployments place LAs at other mima clusters, reached
// through dial.
func WithRemoteLA(dial func(RemoteLA) (LinkageAuthority, error)) Option {
	return func(s *Service) { s.remote = dial }
}

// WithProfile sets the algorithms and identifiers (default sec.CN).
func WithProfile(p *sec.Profile) Option { return func(s *Service) { s.profile = p } }

// WithCacheSize bounds the number of cached deployments; n < 1 means
// cache.DefaultSize.
func WithCacheSize(n int) Option { return func(s *Service) { s.cacheSize = n } }

// New returns a sealed Service whose keys live in keys.
func New(keys Keys, opts ...Option) *Service {
	s := &Service{keys: keys, rand: rand.Reader, now: time.Now, profile: sec.CN}
	for _, o := range opts {
		o(s)
	}
	if s.cacheSize < 1 {
		s.cacheSize = cache.DefaultSize
	}
	s.deps = cache.New[paths.Deployment, *deployment](s.cacheSize, paths.ParseDeployment)
	s.store.Purges(s.deps)
	return s
}

// Unsealed starts serving with store (the barrier).
func (s *Service) Unsealed(ctx context.Context, store storage.Backend) error {
	return s.store.Unsealed(ctx, store)
}

// Sealed stops serving and drops every cached deployment.
func (s *Service) Sealed() { s.store.Sealed() }

// Forget drops the cached deployment stored at path, when another node
// changed it (coherence.Cache).
func (s *Service) Forget(path string) {
	s.deps.Forget(path)
}

// Purge drops every cached deployment.
func (s *Service) Purge() { s.deps.Purge() }

// RunJobs sends the RAs' queued requests to the PCAs, reissues CRLs that
// are due and deletes what has expired, for every deployment; the node
// that runs the cluster's jobs calls it.
func (s *Service) RunJobs(ctx context.Context) error {
	names, err := s.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	crls := func(ctx context.Context, name string) (int, error) {
		c, err := s.CRLs(ctx, name)
		return len(c), err
	}
	if err := s.tidyLAs(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, name := range names {
		for _, job := range []func(context.Context, string) (int, error){s.Flush, crls, s.Tidy} {
			if _, err := job(ctx, name); err != nil {
				errs = append(errs, fmt.Errorf("deployment %s: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// clock is now in UTC to the second.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Second) }

func refused(format string, args ...any) error {
	return fault.New(fault.SPDUInvalid, format, args...)
}
