// Package quota gives each tenant a virtual crypto device: a quota of
// operations a second and of keys, set by the root token and kept in the
// barrier at
//
//	quotas/<tenant>    JSON {"ops_per_sec": n, "max_keys": n}; 0 is no limit
//
// Allow takes one operation from the tenant's bucket (internal/ratelimit,
// burst one second's worth); the key service asks MaxKeys before it
// creates a key. Quotas are cached; Forget and Purge (coherence.Cache)
// drop the cache when another node changes them, and a bucket survives
// them as long as its rate does not change.
package quota

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/ratelimit"
	"github.com/mimacrypto/mima/internal/storage"
)

// Limits on the values of a quota.
const (
	MaxOpsPerSec = 1_000_000
	MaxMaxKeys   = 100_000_000
)

const prefix = "quotas/"

// Quota is what a tenant's virtual device allows; 0 is no limit.
type Quota struct {
	// OpsPerSec bounds the tenant's requests a second (burst: one
	// second's worth).
	OpsPerSec int64 `json:"ops_per_sec"`
	// MaxKeys bounds the keys the tenant holds, pending deletion included.
	MaxKeys int64 `json:"max_keys"`
}

// Service keeps and enforces quotas. It is a sealstate.Component and a
// coherence.Cache, and safe for concurrent use.
type Service struct {
	store storage.Slot
	now   func() time.Time

	mu      sync.Mutex
	quotas  map[string]Quota              // cached; absent: read the store
	buckets map[string]*ratelimit.Limiter // by tenant, at its quota's rate
}

// New returns a sealed Service; now is the clock of the buckets.
func New(now func() time.Time) *Service {
	return &Service{now: now, quotas: map[string]Quota{}, buckets: map[string]*ratelimit.Limiter{}}
}

// Unsealed starts serving with store (the barrier).
func (s *Service) Unsealed(ctx context.Context, store storage.Backend) error {
	s.Purge()
	return s.store.Unsealed(ctx, store)
}

// Sealed stops serving and drops the cache.
func (s *Service) Sealed() {
	s.store.Sealed()
	s.Purge()
}

// Forget drops the cached quota of the tenant whose record is at path.
func (s *Service) Forget(path string) {
	if tenant, ok := strings.CutPrefix(path, prefix); ok {
		s.mu.Lock()
		delete(s.quotas, tenant)
		s.mu.Unlock()
	}
}

// Purge drops every cached quota; the buckets stay.
func (s *Service) Purge() {
	s.mu.Lock()
	clear(s.quotas)
	s.mu.Unlock()
}

// Get returns the tenant's quota, all zero when none was set.
func (s *Service) Get(ctx context.Context, tenant string) (Quota, error) {
	s.mu.Lock()
	q, ok := s.quotas[tenant]
	s.mu.Unlock()
	if ok {
		return q, nil
	}
	st, err := s.store.Backend()
	if err != nil {
		return Quota{}, err
	}
	b, err := st.Get(ctx, prefix+tenant)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return Quota{}, fault.Wrap(err, fault.StorageFailure, "reading the quota failed")
	default:
		if err := json.Unmarshal(b, &q); err != nil {
			return Quota{}, fault.Wrap(err, fault.Internal, "the stored quota of tenant %q is corrupt", tenant)
		}
	}
	s.mu.Lock()
	s.quotas[tenant] = q
	s.mu.Unlock()
	return q, nil
}

// Set stores the tenant's quota. The caller checks that the tenant exists.
func (s *Service) Set(ctx context.Context, tenant string, q Quota) error {
	if q.OpsPerSec < 0 || q.OpsPerSec > MaxOpsPerSec {
		return fault.New(fault.InvalidArgument, "ops_per_sec must be 0 (no limit) to %d", MaxOpsPerSec)
	}
	if q.MaxKeys < 0 || q.MaxKeys > MaxMaxKeys {
		return fault.New(fault.InvalidArgument, "max_keys must be 0 (no limit) to %d", MaxMaxKeys)
	}
	st, err := s.store.Backend()
	if err != nil {
		return err
	}
	b, err := json.Marshal(q)
	if err != nil {
		return fault.Wrap(err, fault.Internal, "encoding the quota failed")
	}
	if err := st.Put(ctx, prefix+tenant, b); err != nil {
		return fault.Wrap(err, fault.StorageFailure, "storing the quota failed")
	}
	s.Forget(prefix + tenant)
	return nil
}

// Allow takes one operation from the tenant's bucket. A tenant over its
// quota gets quota_exceeded naming it, and wait says when to retry.
func (s *Service) Allow(ctx context.Context, tenant string) (wait time.Duration, err error) {
	q, err := s.Get(ctx, tenant)
	if err != nil || q.OpsPerSec == 0 {
		return 0, err
	}
	s.mu.Lock()
	b := s.buckets[tenant]
	if b == nil || b.Rate() != float64(q.OpsPerSec) {
		b = ratelimit.New(float64(q.OpsPerSec), int(q.OpsPerSec), ratelimit.WithClock(s.now), ratelimit.WithMaxKeys(1))
		s.buckets[tenant] = b
	}
	s.mu.Unlock()
	if ok, wait := b.Allow(""); !ok {
		return wait, fault.New(fault.QuotaExceeded, "tenant %q is over its quota of %d operations a second (ops_per_sec)", tenant, q.OpsPerSec)
	}
	return 0, nil
}

// MaxKeys returns the tenant's key quota, 0 for none.
func (s *Service) MaxKeys(ctx context.Context, tenant string) (int64, error) {
	q, err := s.Get(ctx, tenant)
	return q.MaxKeys, err
}
