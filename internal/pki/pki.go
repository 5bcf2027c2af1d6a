// Package pki is mima's certificate authority: SM2/SM3 CAs per tenant,
// certificate profiles, issuance, revocation, CRLs and an OCSP responder.
// It knows nothing of HTTP.
//
// A CA's private key is a non-exportable sm2 key of the key service in the
// CA's tenant, named "ca-<ca>-<8 hex digits>"; it never leaves the barrier
// and signs through the crypto.Signer of the Keys the Service is given
// (kms.Service.Signer in mima). Keys the CA generates for
// subscribers are either returned wrapped (IssueKeyPair) or, for the
// encryption half of a dual certificate, escrowed as exportable sm2 keys
// named "enc-<serial>" (IssueDual).
//
// Every certificate is SM2 with SM3 (1.2.156.10197.1.501), signed under
// the identity "1234567812345678". Its serial number is 128 random bits,
// never used before in the tenant; its subject key identifier the
// leftmost 160 bits of the SM3 hash of its subjectPublicKey bits (RFC 7093
// method 1 with SM3 for SHA-256); its authority key identifier the
// issuer's; its CRL distribution point and OCSP responder (authority
// information access) the issuing CA's Config URLs. A certificate never
// outlives its CA.
//
// Records are kept in the storage.Backend handed over at unseal (the
// barrier), in JSON unless noted, under
//
//	t/<tenant>/pki/cas/<ca>                 CA record: kind, state, key,
//	                                        certificate, CSR, chain, config
//	t/<tenant>/pki/profiles/<ca>/<profile>  profile (see Profile)
//	t/<tenant>/pki/certs/<serial>           certificate record: DER, CA,
//	                                        profile, state, revocation
//	t/<tenant>/pki/revoked/<ca>/<serial>/<unix>/<reason>
//	                                        empty; a revoked or held
//	                                        certificate: the entries of the
//	                                        CA's CRL, read with one List
//	t/<tenant>/pki/expiry/<unix>/<serial>   empty; orders certificates by
//	                                        expiry for ListExpiring
//	t/<tenant>/pki/keycerts/<key>           the serial (text) of the latest
//	                                        certificate of a mima key (Issue)
//	t/<tenant>/pki/crls/<ca>                the CA's current CRL: number,
//	                                        this and next update, DER
//	pki/due/crl/<unix>/<tenant>/<ca>        empty; schedules the CA's next
//	                                        CRL for RunJobs
//
// where <serial> is the certificate serial number as 32 lower-case hex
// digits (128 random bits, unique in the tenant) and <unix> is 20-digit
// seconds since 1970.
package pki

import (
	"context"
	"crypto"
	"crypto/rand"
	"io"
	"time"

	"github.com/mimacrypto/mima/internal/cache"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// DefaultPBKDF2Iterations is the PBKDF2-HMAC-SM3 iteration count of the
// encrypted PKCS#8 keys IssueKeyPair returns.
const DefaultPBKDF2Iterations = 100_000

// Keys is what the CA service needs of a key service: it creates and
// schedules the deletion of CA and escrow keys, signs with a key version
// through crypto.Signer, reads public keys as crypto.PublicKey, imports
// CA keys and exports escrowed ones. *kms.Service implements it.
type Keys interface {
	Create(ctx context.Context, tenant string, req kms.CreateRequest) (kms.KeyInfo, error)
	Get(ctx context.Context, tenant, ref string) (kms.KeyInfo, error)
	PublicKey(ctx context.Context, tenant, ref string, version int) (kms.PublicKey, error)
	Signer(ctx context.Context, tenant, ref string) (crypto.Signer, error)
	ScheduleDeletion(ctx context.Context, tenant, ref string, days int) (kms.KeyInfo, error)
	ImportParams(ctx context.Context, tenant, ref string) (kms.ImportParams, error)
	Import(ctx context.Context, tenant, ref string, req kms.ImportRequest) (kms.KeyInfo, error)
	SetMinVersions(ctx context.Context, tenant, ref string, mv kms.MinVersions) (kms.KeyInfo, error)
	Export(ctx context.Context, tenant, ref string, req kms.ExportRequest) (kms.ExportedKey, error)
}

var _ Keys = (*kms.Service)(nil)

// Service is the certificate authority service. It is safe for concurrent
// use. It implements sealstate.Component: it serves requests only between
// Unsealed and Sealed, and relies on the key service being unsealed too.
type Service struct {
	keys       Keys
	rand       io.Reader
	now        func() time.Time
	pbkdf2Iter int

	store     storage.Slot // empty while sealed; purges the caches
	cacheSize int
	cas       *cache.Cache[paths.CA, *authority]
	profiles  *cache.Cache[paths.Profile, *profile] // nil: deleted
}

// Option configures a Service.
type Option func(*Service)

// WithRand sets the randomness for serial numbers, generated key pairs
// and password-based encryption; by default crypto/rand.Reader. Signatures
// draw theirs from the key service.
func WithRand(r io.Reader) Option { return func(s *Service) { s.rand = r } }

// WithClock sets the clock for validity periods, revocation times, CRLs
// and OCSP answers.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithPBKDF2Iterations sets the iteration count of encrypted PKCS#8 keys;
// n < 1 means DefaultPBKDF2Iterations.
func WithPBKDF2Iterations(n int) Option { return func(s *Service) { s.pbkdf2Iter = n } }

// WithCacheSize bounds the number of cached CAs, and of cached profiles;
// n < 1 means cache.DefaultSize.
func WithCacheSize(n int) Option { return func(s *Service) { s.cacheSize = n } }

// New returns a sealed Service whose CA keys live in keys.
func New(keys Keys, opts ...Option) *Service {
	s := &Service{keys: keys, rand: rand.Reader, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.pbkdf2Iter < 1 {
		s.pbkdf2Iter = DefaultPBKDF2Iterations
	}
	if s.cacheSize < 1 {
		s.cacheSize = cache.DefaultSize
	}
	s.cas = cache.New[paths.CA, *authority](s.cacheSize, paths.ParseCA)
	s.profiles = cache.New[paths.Profile, *profile](s.cacheSize, paths.ParseProfile)
	s.store.Purges(s.cas, s.profiles)
	return s
}

// Unsealed starts serving with store (the barrier) as the record store.
func (s *Service) Unsealed(ctx context.Context, store storage.Backend) error {
	return s.store.Unsealed(ctx, store)
}

// Sealed stops serving and drops every cached CA and profile. Requests
// fail with fault code "sealed" until the next Unsealed.
func (s *Service) Sealed() { s.store.Sealed() }

// clock returns the current time in UTC, to the second: certificates,
// CRLs and OCSP answers carry no fractions of a second.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Second) }
