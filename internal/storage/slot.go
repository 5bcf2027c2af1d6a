package storage

import (
	"context"
	"sync/atomic"

	"github.com/mimacrypto/mima/internal/fault"
)

// ErrSealed is the answer of every store behind the barrier, and of every
// Slot, while mima is sealed.
var ErrSealed = fault.New(fault.Sealed, "mima is sealed")

// Purger is a cache whose content belongs to one unsealed period.
type Purger interface{ Purge() }

// Slot is the seal lifecycle of a service that keeps state behind the
// barrier: Unsealed fills it with the store, Sealed empties it, and both
// purge the caches it was given with Purges. Backend answers ErrSealed
// while it is empty. It is safe for concurrent use; the zero Slot is
// empty and purges nothing.
type Slot struct {
	p      atomic.Pointer[slotted]
	caches []Purger
}

type slotted struct{ Backend }

// Purges registers caches that Unsealed and Sealed purge. Call it before
// the slot is first used, from the service's constructor.
func (s *Slot) Purges(caches ...Purger) { s.caches = append(s.caches, caches...) }

// Unsealed purges the caches and fills the slot with b: the service
// serves from b. It implements sealstate.Component.
func (s *Slot) Unsealed(_ context.Context, b Backend) error {
	s.purge()
	s.p.Store(&slotted{b})
	return nil
}

// Sealed empties the slot, then purges the caches: requests fail with
// ErrSealed until the next Unsealed. It implements sealstate.Component.
func (s *Slot) Sealed() {
	s.p.Store(nil)
	s.purge()
}

func (s *Slot) purge() {
	for _, c := range s.caches {
		c.Purge()
	}
}

// Backend returns the store, or ErrSealed while the slot is empty.
func (s *Slot) Backend() (Backend, error) {
	b := s.p.Load()
	if b == nil {
		return nil, ErrSealed
	}
	return b.Backend, nil
}
