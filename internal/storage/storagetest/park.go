package storagetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/storage"
)

// Parking is a storage.Backend that holds the first Get or Swap that match
// selects until Release, so a test can stop a writer in the middle of its
// work and show that writers of other objects do not wait for it.
type Parking struct {
	storage.Backend
	match  func(key string, found bool) bool
	Parked chan struct{} // closed when a call is held
	resume chan struct{}
	once   sync.Once
}

// Park returns a store over st that holds the first Get for which match,
// given the key and whether it holds an entry, reports true, or the first
// Swap with a condition for which it does, given the key and whether the
// condition is that it holds one.
func Park(st storage.Backend, match func(key string, found bool) bool) *Parking {
	return &Parking{Backend: st, match: match, Parked: make(chan struct{}), resume: make(chan struct{})}
}

// Get reads key and, the first time match selects it, waits for Release
// before returning.
func (p *Parking) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := p.Backend.Get(ctx, key)
	if err != nil && !errors.Is(err, storage.ErrNotFound) || !p.match(key, err == nil) {
		return v, err
	}
	if err := p.hold(ctx); err != nil {
		return nil, err
	}
	return v, err
}

// Swap waits for Release, the first time match selects one of conds,
// before it swaps.
func (p *Parking) Swap(ctx context.Context, conds []storage.Cond, ops []storage.Op) error {
	for _, c := range conds {
		if p.match(c.Key, !c.Absent) {
			if err := p.hold(ctx); err != nil {
				return err
			}
			break
		}
	}
	return p.Backend.Swap(ctx, conds, ops)
}

// hold waits for Release if no call was held before.
func (p *Parking) hold(ctx context.Context) error {
	held := false
	p.once.Do(func() { held = true })
	if !held {
		return nil
	}
	close(p.Parked)
	select {
	case <-p.resume:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Release lets the held Get return.
func (p *Parking) Release() { close(p.resume) }

// guard bounds how long Proceeds waits before it declares that a write
// waited: a failure deadline only, never a measurement.
const guard = 30 * time.Second

// Proceeds shows that a write does not wait for another held in p: it
// starts held, which must reach the parked Get, runs free, and fails t
// with waited unless free finishes while held is parked; then it lets held
// finish. Both must succeed.
func (p *Parking) Proceeds(t testing.TB, held, free func() error, waited string) {
	t.Helper()
	heldErr := make(chan error, 1)
	go func() { heldErr <- held() }()
	<-p.Parked
	freeErr := make(chan error, 1)
	go func() { freeErr <- free() }()
	select {
	case err := <-freeErr:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(guard):
		t.Fatal(waited)
	}
	p.Release()
	if err := <-heldErr; err != nil {
		t.Fatal(err)
	}
}
