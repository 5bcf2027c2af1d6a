package storage

import (
	"context"
	"errors"
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
// while it is empty, and the store it returns reports its failures with
// fault code storage_unavailable, so that an outage is one answer from
// every service. It is safe for concurrent use; the zero Slot is empty and
// purges nothing.
type Slot struct {
	p      atomic.Pointer[slotted]
	caches []Purger
}

type slotted struct{ Backend }

// coded is a store whose failures carry fault code storage_unavailable.
// ErrNotFound and ErrConflict pass unchanged: they are answers, not
// failures, and their callers test for them. So do errors that carry a
// code already (the barrier's ErrSealed).
type coded struct{ st Backend }

func fail(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		return err
	}
	return fault.Storage(err)
}

func (c coded) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := c.st.Get(ctx, key)
	return v, fail(err)
}

func (c coded) Put(ctx context.Context, key string, value []byte) error {
	return fail(c.st.Put(ctx, key, value))
}

func (c coded) Delete(ctx context.Context, key string) error {
	return fail(c.st.Delete(ctx, key))
}

func (c coded) List(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	keys, err := c.st.List(ctx, prefix, after, limit)
	return keys, fail(err)
}

func (c coded) Batch(ctx context.Context, ops []Op) error {
	return fail(c.st.Batch(ctx, ops))
}

func (c coded) Swap(ctx context.Context, conds []Cond, ops []Op) error {
	return fail(c.st.Swap(ctx, conds, ops))
}

// Purges registers caches that Unsealed and Sealed purge. Call it before
// the slot is first used, from the service's constructor.
func (s *Slot) Purges(caches ...Purger) { s.caches = append(s.caches, caches...) }

// Unsealed purges the caches and fills the slot with b: the service
// serves from b. It implements sealstate.Component.
func (s *Slot) Unsealed(_ context.Context, b Backend) error {
	s.purge()
	s.p.Store(&slotted{coded{b}})
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

// The Slot is itself a Backend: each call goes to the store the slot holds
// at that moment, with the failures coded as Backend's are, and answers
// ErrSealed while the slot is empty.

// Get implements Backend.
func (s *Slot) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.Backend()
	if err != nil {
		return nil, err
	}
	return b.Get(ctx, key)
}

// Put implements Backend.
func (s *Slot) Put(ctx context.Context, key string, value []byte) error {
	b, err := s.Backend()
	if err != nil {
		return err
	}
	return b.Put(ctx, key, value)
}

// Delete implements Backend.
func (s *Slot) Delete(ctx context.Context, key string) error {
	b, err := s.Backend()
	if err != nil {
		return err
	}
	return b.Delete(ctx, key)
}

// List implements Backend.
func (s *Slot) List(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	b, err := s.Backend()
	if err != nil {
		return nil, err
	}
	return b.List(ctx, prefix, after, limit)
}

// Batch implements Backend.
func (s *Slot) Batch(ctx context.Context, ops []Op) error {
	b, err := s.Backend()
	if err != nil {
		return err
	}
	return b.Batch(ctx, ops)
}

// Swap implements Backend.
func (s *Slot) Swap(ctx context.Context, conds []Cond, ops []Op) error {
	b, err := s.Backend()
	if err != nil {
		return err
	}
	return b.Swap(ctx, conds, ops)
}
