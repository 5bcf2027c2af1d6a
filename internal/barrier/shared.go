package barrier

import (
	"context"
	"strings"

	"github.com/mimacrypto/mima/internal/storage"
)

// The barrier passes the cluster abilities of a shared store through to
// the services behind it, in their own path space.
var (
	_ storage.Locker  = (*Barrier)(nil)
	_ storage.Watcher = (*Barrier)(nil)
)

// Lock takes a cluster-wide lock when the store below is shared, and is a
// no-op lock otherwise (one node: its own mutexes suffice).
func (b *Barrier) Lock(ctx context.Context, name string) (storage.Lock, error) {
	if l, ok := b.raw.(storage.Locker); ok {
		return l.Lock(ctx, name)
	}
	return nopLock{}, nil
}

// TryLock is Lock without waiting.
func (b *Barrier) TryLock(ctx context.Context, name string) (storage.Lock, bool, error) {
	if l, ok := b.raw.(storage.Locker); ok {
		return l.TryLock(ctx, name)
	}
	return nopLock{}, true, nil
}

type nopLock struct{}

func (nopLock) Held(context.Context) bool { return true }
func (nopLock) Release()                  {}

// Watch reports the entries other nodes change, as barrier paths. A change
// of the keyring makes the barrier reload it at once, so that this node
// writes under a new term as soon as another node rotated. On a store that
// is not shared it returns when ctx ends, having reported nothing.
func (b *Barrier) Watch(ctx context.Context, changed func(path string), reset func()) error {
	w, ok := b.raw.(storage.Watcher)
	if !ok {
		<-ctx.Done()
		return ctx.Err()
	}
	return w.Watch(ctx, func(key string) {
		if key == keyringPath {
			if kr := b.ring.Load(); kr != nil {
				_, _ = b.reload(ctx, kr)
			}
			return
		}
		if path, ok := strings.CutPrefix(key, entryPrefix); ok {
			changed(path)
		}
	}, reset)
}
