// Package authn keeps tenants, tokens and policies, and makes every
// authorisation decision. It knows nothing of HTTP: the API hands it a
// bearer string, an operation and an object name.
//
// A token is "mima." + accessor + "." + secret. The accessor names the token
// in storage, in audit records and in revocation requests; only an SM3 hash
// of the secret is stored, and it is compared in constant time.
package authn

import (
	"context"
	"crypto/rand"
	"io"
	"sync"
	"time"

	"github.com/mimacrypto/mima/internal/cache"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// DefaultTenant is created at initialisation; the root token acts in it
// when a request names no tenant.
const DefaultTenant = "default"

// childPrefix is the storage path of the index of a token's children,
// relative to the barrier.
const childPrefix = "token-children/"

// Service keeps tenants, tokens and policies in an (encrypting) store and
// caches what the request path reads. It implements sealstate.Component:
// it serves requests only between Unsealed and Sealed, and answers with
// fault code "sealed" otherwise.
type Service struct {
	store storage.Slot // empty while sealed; purges the caches
	rand  io.Reader
	now   func() time.Time
	ops   map[string]bool // known operations, for policy validation

	cacheSize int
	tokens    *cache.Cache[paths.Token, *Token]
	policies  *cache.Cache[paths.Policy, *Policy] // nil: known absent
	tenants   *cache.Cache[paths.Tenant, *Tenant]

	// tried is when this node last tried to record each token's use.
	triedMu sync.Mutex
	tried   *cache.Cache[paths.Token, time.Time]
}

// Option configures a Service.
type Option func(*Service)

// WithRand sets the source of token secrets and accessors.
func WithRand(r io.Reader) Option { return func(s *Service) { s.rand = r } }

// WithClock sets the clock used for creation and expiry times.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithOperations sets the operations that policies may name; patterns in a
// policy must match at least one of them.
func WithOperations(ops []string) Option {
	return func(s *Service) {
		for _, op := range ops {
			s.ops[op] = true
		}
	}
}

// WithCacheSize bounds the number of cached tokens, and of cached
// policies and tenants; n < 1 means cache.DefaultSize.
func WithCacheSize(n int) Option { return func(s *Service) { s.cacheSize = n } }

// New returns a sealed Service.
func New(opts ...Option) *Service {
	s := &Service{rand: rand.Reader, now: time.Now, ops: map[string]bool{}}
	for _, o := range opts {
		o(s)
	}
	if s.cacheSize < 1 {
		s.cacheSize = cache.DefaultSize
	}
	s.tokens = cache.New[paths.Token, *Token](s.cacheSize, paths.ParseToken)
	s.policies = cache.New[paths.Policy, *Policy](s.cacheSize, paths.ParsePolicy)
	s.tenants = cache.New[paths.Tenant, *Tenant](s.cacheSize, paths.ParseTenant)
	s.tried = cache.New[paths.Token, time.Time](s.cacheSize, paths.ParseToken)
	s.store.Purges(s.tokens, s.policies, s.tenants)
	return s
}

// Unsealed starts serving with store (the barrier) as the record store.
func (s *Service) Unsealed(ctx context.Context, store storage.Backend) error {
	return s.store.Unsealed(ctx, store)
}

// Sealed stops serving and drops every cached record.
func (s *Service) Sealed() { s.store.Sealed() }

// Purge forgets every cached record; they reload on next use.
func (s *Service) Purge() {
	s.tokens.Purge()
	s.policies.Purge()
	s.tenants.Purge()
}

// Bootstrap creates the default tenant and the root token on a freshly
// initialised cluster and returns the root token. A zero rootTTL means the
// root token does not expire.
func (s *Service) Bootstrap(ctx context.Context, rootTTL time.Duration) (Issued, error) {
	if err := CheckRootTTL(rootTTL); err != nil {
		return Issued{}, err
	}
	if _, err := s.putTenant(ctx, DefaultTenant); err != nil {
		return Issued{}, err
	}
	return s.IssueRoot(ctx, rootTTL)
}
