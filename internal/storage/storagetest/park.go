package storagetest

import (
	"context"
	"errors"
	"sync"

	"github.com/mimacrypto/mima/internal/storage"
)

// Parking is a storage.Backend that holds the first Get that match
// selects until Release, so a test can stop a writer in the middle of its
// work and show that writers of other objects do not wait for it.
type Parking struct {
	storage.Backend
	match  func(key string, found bool) bool
	Parked chan struct{} // closed when a Get is held
	resume chan struct{}
	once   sync.Once
}

// Park returns a store over st that holds the first Get for which match,
// given the key and whether it holds an entry, reports true.
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
	held := false
	p.once.Do(func() { held = true })
	if held {
		close(p.Parked)
		select {
		case <-p.resume:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return v, err
}

// Release lets the held Get return.
func (p *Parking) Release() { close(p.resume) }
