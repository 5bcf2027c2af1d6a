// Package kms is mima's key service: named keys per tenant with versions,
// states and policies of use, and the cryptographic operations on them. It
// knows nothing of HTTP.
//
// Keys are generated and used through a device.Device; their records are
// kept in the storage.Backend handed over at unseal (the barrier), under
//
//	t/<tenant>/keys/<name>        key record (JSON, versions with material)
//	t/<tenant>/aliases/<alias>    alias record: {"target": <key name>, ...}
//	t/<tenant>/destroyed/<name>   tombstone of a destroyed key
//	t/<tenant>/import/<token>     import token: a one-time wrapping key
//	                              for Import (see ImportParams)
//	kms/due/<job>/<unix>/<tenant>/<name>
//	                              empty; schedules a destruction (job
//	                              "destroy"), automatic rotation ("rotate")
//	                              or the deletion of an import token whose
//	                              name is <name> ("import") at <unix>,
//	                              20-digit seconds, so RunJobs lists only
//	                              what is due
//
// Encrypt returns, and Decrypt accepts, the ciphertext string
//
//	mima:v<N>:<base64>
//
// where N is the key version in decimal (1 or more, no leading zeros) and
// base64 is the standard, padded encoding (RFC 4648 section 4) of the
// payload:
//
//	sm4 keys   nonce (12 bytes) || SM4-GCM ciphertext || tag (16 bytes)
//	sm2 keys   the SM2 ciphertext (GB/T 32918.4): GM/T 0009 ASN.1
//	           SEQUENCE {x, y, hash, ciphertext} by default, or raw
//	           C1 || C3 || C2 with an uncompressed C1 (first byte 0x04)
//
// The payload names no algorithm: the key decides. Nothing else is
// accepted: no whitespace, no line breaks, only canonical base64.
//
// Key material enters through Import (wrapped under a one-time SM2 key
// from ImportParams) and leaves only wrapped, and only for keys created
// exportable: through Export (under the caller's SM2 public key) and
// Backup (a password-sealed blob for Restore); their documentation gives
// the formats.
//
// Every SM4-GCM encryption spends the nonce budget of its key version, and
// the key rotates before a version passes it; see WithNonceLimit.
//
// Crypto operations never read storage for a cached key: the first use of
// a key opens every version on the device and caches the result, bounded
// by WithCacheSize and evicted with the CLOCK algorithm (internal/cache). Any change to a
// key or alias drops its cache entry; Forget does the same for changes
// made by another node; Sealed drops everything.
package kms

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/mimacrypto/mima/internal/cache"
	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// DefaultCacheSize is the default bound on cached keys (and on cached
// aliases).
const DefaultCacheSize = cache.DefaultSize

// Service is the key service. It is safe for concurrent use. It implements
// sealstate.Component: it serves requests only between Unsealed and Sealed.
type Service struct {
	dev        device.Device
	rand       io.Reader
	now        func() time.Time
	cacheSize  int
	backupIter int
	nonceLimit uint64

	store   storage.Slot // empty while sealed; purges the caches
	keys    *cache.Cache[paths.Key, *entry]
	aliases *cache.Cache[paths.Alias, string] // -> key name
	budgets sync.Map                          // bkey -> *budget: the nonces this node reserved

	keyQuota  func(ctx context.Context, tenant string) (int64, error) // nil: no quotas
	creations sync.Map                                                // tenant -> *sync.Mutex, under a key quota
}

// Option configures a Service.
type Option func(*Service)

// WithRand sets the randomness for nonces, data keys and Random; by
// default it is the device's random bit generator.
func WithRand(r io.Reader) Option { return func(s *Service) { s.rand = r } }

// WithClock sets the clock for creation, update and deletion times.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithKeyQuota bounds the keys each tenant holds to what quota returns
// for it (0: no bound); a creation past it is quota_exceeded. One node
// counts exactly; creations on several nodes at once may pass the bound
// by their number.
func WithKeyQuota(quota func(ctx context.Context, tenant string) (int64, error)) Option {
	return func(s *Service) { s.keyQuota = quota }
}

// WithCacheSize bounds the number of cached keys; n < 1 means
// DefaultCacheSize.
func WithCacheSize(n int) Option { return func(s *Service) { s.cacheSize = n } }

// New returns a sealed Service that keeps its keys on dev.
func New(dev device.Device, opts ...Option) *Service {
	s := &Service{dev: dev, now: time.Now, backupIter: DefaultBackupIterations, nonceLimit: DefaultNonceLimit}
	for _, o := range opts {
		o(s)
	}
	if s.rand == nil {
		s.rand = dev.Random()
	}
	if s.cacheSize < 1 {
		s.cacheSize = DefaultCacheSize
	}
	s.keys = cache.New[paths.Key, *entry](s.cacheSize, paths.ParseKey)
	s.aliases = cache.New[paths.Alias, string](s.cacheSize, paths.ParseAlias)
	s.store.Purges(s)
	return s
}

// Unsealed starts serving with store (the barrier) as the key store.
func (s *Service) Unsealed(ctx context.Context, store storage.Backend) error {
	return s.store.Unsealed(ctx, store)
}

// Sealed stops serving and drops every cached key and alias. Requests fail
// with fault code "sealed" until the next Unsealed. The nonces this node
// reserved and did not use go back to the stored counts where they can.
func (s *Service) Sealed() {
	st, err := s.store.Backend()
	s.store.Sealed()
	if err == nil {
		s.releaseBudgets(st)
	}
	s.budgets.Clear()
}
