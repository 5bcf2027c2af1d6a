// Package sm9 is mima's SM9 key generation centre (KGC) and the SM9
// operations on identities (GB/T 38635, GM/T 0044). It knows nothing of
// HTTP.
//
// A KGC is a key of the key service of type sm9-sign-master or
// sm9-enc-master. The KGC extracts the user key of an identity and
// delivers it wrapped, never plain: SM2-encrypted to a terminal's SM2 key,
// sealed under a one-time password, or held in mima as a hosted identity
// key, a key of the key service named by HostedName. Every private-key
// operation runs in the device (internal/device); the public-key ones
// (verification, encryption, encapsulation) need only the master public
// key and are here.
//
// An identity may carry its validity after a separator ("rtu-7|2026-Q4"):
// past the end of the period it is expired, and the KGC neither extracts
// its key nor accepts its signatures. The KGC keeps a list of revoked
// identities, under
//
//	t/<tenant>/sm9/<kgc>/revoked   JSON: the revoked identities and a serial
//
// published signed (RevocationList) and checked by every verification and
// every operation with a hosted key.
package sm9

import (
	"context"
	"io"
	"time"

	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/storage"
)

// Limits on identities.
const (
	// MaxIdentity bounds an identity, in bytes (it is a tag of the hosted
	// key).
	MaxIdentity = 256
	// DefaultSeparator separates an identity from its validity period.
	DefaultSeparator = "|"
	// MaxBatch is the most items of one batch call.
	MaxBatch = 10_000
)

// Service is the KGC. It is safe for concurrent use and implements
// sealstate.Component for its revocation lists.
type Service struct {
	keys *kms.Service
	rand io.Reader
	now  func() time.Time
	sep  string

	store storage.Slot
}

// Option configures a Service.
type Option func(*Service)

// WithRand sets the randomness of encryption and encapsulation; by
// default keys' device's, through kms.Service.Random.
func WithRand(r io.Reader) Option { return func(s *Service) { s.rand = r } }

// WithClock sets the clock that decides whether an identity has expired.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithSeparator sets the separator between an identity and its validity
// period (DefaultSeparator); "" turns validity periods off.
func WithSeparator(sep string) Option { return func(s *Service) { s.sep = sep } }

// New returns a sealed KGC whose master and hosted keys are keys of keys.
func New(keys *kms.Service, rand io.Reader, opts ...Option) *Service {
	s := &Service{keys: keys, rand: rand, now: time.Now, sep: DefaultSeparator}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Unsealed starts serving with store (the barrier) for revocation lists.
func (s *Service) Unsealed(ctx context.Context, store storage.Backend) error {
	return s.store.Unsealed(ctx, store)
}

// Sealed stops serving.
func (s *Service) Sealed() { s.store.Sealed() }
