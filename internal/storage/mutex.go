package storage

import (
	"context"
	"sync"
)

// Mutex serialises a service's writes: on this node always, and across the
// cluster when the store is shared by several nodes (it is a Locker), so
// that two nodes never read, change and write the same records at once.
// Reads take no lock.
type Mutex struct {
	// Name names the cluster-wide lock.
	Name string

	mu   sync.Mutex
	held Lock // the cluster lock while held
}

// Lock takes the mutex for writes to st; it fails only when a shared
// store cannot grant its lock.
func (m *Mutex) Lock(ctx context.Context, st Backend) error {
	m.mu.Lock()
	l, ok := st.(Locker)
	if !ok {
		return nil
	}
	held, err := l.Lock(ctx, m.Name)
	if err != nil {
		m.mu.Unlock()
		return err
	}
	m.held = held
	return nil
}

// Unlock releases the mutex.
func (m *Mutex) Unlock() {
	if m.held != nil {
		m.held.Release()
		m.held = nil
	}
	m.mu.Unlock()
}
