package storagetest

import (
	"context"
	"sync"

	"github.com/mimacrypto/mima/internal/storage"
)

// Parking is a storage.Backend that stops the first Get of one key until
// Release, so a test can hold a writer in the middle of its work and show
// that writers of other objects do not wait for it.
type Parking struct {
	storage.Backend
	key    string
	Parked chan struct{} // closed when the Get of key is parked
	resume chan struct{}
	once   sync.Once
}

// Park returns a store over st that parks the first Get of key.
func Park(st storage.Backend, key string) *Parking {
	return &Parking{Backend: st, key: key, Parked: make(chan struct{}), resume: make(chan struct{})}
}

// Get parks the first read of the parked key until Release.
func (p *Parking) Get(ctx context.Context, key string) ([]byte, error) {
	if key == p.key {
		parked := false
		p.once.Do(func() { parked = true })
		if parked {
			close(p.Parked)
			select {
			case <-p.resume:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	return p.Backend.Get(ctx, key)
}

// Release lets the parked Get go on.
func (p *Parking) Release() { close(p.resume) }
