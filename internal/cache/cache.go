// Package cache is the one in-memory cache of the services: a bounded map
// from a typed storage path (internal/storage/paths) to what a service
// built from the record at that path.
//
// Eviction is CLOCK, an approximation of least-recently-used: the entries
// sit on a ring; a hit sets the entry's reference bit; when the cache is
// full, a hand sweeps the ring, clearing set bits and evicting the first
// entry whose bit is clear. An entry used since the hand last passed thus
// survives one more sweep. Lookups take no lock and do not allocate.
//
// Coherence is built in. A cache knows how to read its key from a storage
// path, so Forget(path) drops the entry of a record that another node
// changed, and Purge drops everything (both implement coherence.Cache and
// storage.Purger). A loader reads Generation before reading storage and
// passes it to Add; a writer caches what it wrote with Put, or drops it
// with Remove. Every Put, Remove, Forget and Purge advances the
// generation, so a value loaded before a concurrent change is never
// cached.
package cache

import (
	"sync"
	"sync/atomic"
)

// Cache is a bounded cache from K, a typed storage path, to V. It is safe
// for concurrent use.
type Cache[K comparable, V any] struct {
	max   int
	parse func(path string) (K, bool)
	m     sync.Map // K -> *slot[K, V]
	gen   atomic.Uint64

	mu   sync.Mutex
	ring []*slot[K, V] // nil entries are listed in free
	free []int
	hand int
}

type slot[K comparable, V any] struct {
	key K
	val V
	ref atomic.Bool
	idx int
}

// New returns a cache of at most size entries (at least 1) whose keys
// parse reads from storage paths.
func New[K comparable, V any](size int, parse func(path string) (K, bool)) *Cache[K, V] {
	return &Cache[K, V]{max: max(size, 1), parse: parse}
}

// Get returns the cached value for k.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	v, ok := c.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	s := v.(*slot[K, V])
	if !s.ref.Load() {
		s.ref.Store(true)
	}
	return s.val, true
}

// Generation returns the value to pass to Add for a load starting now.
func (c *Cache[K, V]) Generation() uint64 { return c.gen.Load() }

// Add caches val for k unless the cache changed since gen was read.
func (c *Cache[K, V]) Add(k K, val V, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() == gen {
		c.insert(k, val)
	}
}

// Put caches val for k, which the caller has just written. It advances the
// generation, so that a load that read the record before the write does
// not replace val.
func (c *Cache[K, V]) Put(k K, val V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.insert(k, val)
}

// insert caches val for k, evicting an entry if the cache is full; c.mu
// is held.
func (c *Cache[K, V]) insert(k K, val V) {
	s := &slot[K, V]{key: k, val: val}
	switch old, ok := c.m.Load(k); {
	case ok:
		s.idx = old.(*slot[K, V]).idx
	case len(c.free) > 0:
		s.idx = c.free[len(c.free)-1]
		c.free = c.free[:len(c.free)-1]
	case len(c.ring) < c.max:
		s.idx = len(c.ring)
		c.ring = append(c.ring, nil)
	default:
		s.idx = c.evict()
	}
	c.ring[s.idx] = s
	c.m.Store(k, s)
}

// evict moves the hand past slots used since its last pass, clearing their
// bits, drops the first unused one and returns its index. The ring is full
// and has no nil entries.
func (c *Cache[K, V]) evict() int {
	for {
		i := c.hand
		c.hand = (c.hand + 1) % len(c.ring)
		s := c.ring[i]
		if s.ref.Load() {
			s.ref.Store(false)
			continue
		}
		c.m.Delete(s.key)
		return i
	}
}

// Remove drops k.
func (c *Cache[K, V]) Remove(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	if v, ok := c.m.LoadAndDelete(k); ok {
		i := v.(*slot[K, V]).idx
		c.ring[i] = nil
		c.free = append(c.free, i)
	}
}

// Forget drops the entry of the record at path, if path names one of this
// cache's kind: another node changed it.
func (c *Cache[K, V]) Forget(path string) {
	if k, ok := c.parse(path); ok {
		c.Remove(k)
	}
}

// Purge drops everything.
func (c *Cache[K, V]) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.m.Clear()
	c.ring, c.free, c.hand = nil, nil, 0
}

// Len returns the number of cached values.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ring) - len(c.free)
}

// DefaultSize is the bound of a service's cache unless configured.
const DefaultSize = 100_000
