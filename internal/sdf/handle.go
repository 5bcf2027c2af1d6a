package sdf

import (
	"sync"
	"sync/atomic"
)

// lastHandle numbers every handle the library gives out (devices, sessions,
// session keys), so that a handle of one kind is never taken for another.
var lastHandle atomic.Uintptr

// Handles maps the opaque handles given to C callers to their objects;
// it is safe for concurrent use.
type Handles[T any] struct {
	mu sync.RWMutex
	m  map[uintptr]T
}

// Put stores v and returns its new handle (never 0).
func (t *Handles[T]) Put(v T) uintptr {
	h := lastHandle.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[uintptr]T{}
	}
	t.m[h] = v
	return h
}

// Get returns the object of h.
func (t *Handles[T]) Get(h uintptr) (T, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.m[h]
	return v, ok
}

// Take removes h and returns its object.
func (t *Handles[T]) Take(h uintptr) (T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[h]
	delete(t.m, h)
	return v, ok
}

// Each calls f on every object.
func (t *Handles[T]) Each(f func(h uintptr, v T)) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for h, v := range t.m {
		f(h, v)
	}
}
