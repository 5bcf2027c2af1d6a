package kms

import (
	"sync"
	"sync/atomic"
)

// ckey names a cached key or alias within its tenant.
type ckey struct{ tenant, name string }

// cache is a bounded map with CLOCK eviction. Lookups take no lock and do
// not allocate: a sync.Map holds the slots, and a hit sets the slot's
// reference bit only when it is clear. Insertions, removals and evictions
// take a mutex and sweep a ring of slots.
//
// A loader reads generation before reading storage and passes it to add;
// every remove and clear advances the generation, so a value loaded before
// a concurrent change is never cached.
type cache[V any] struct {
	max int
	m   sync.Map // ckey -> *slot[V]
	gen atomic.Uint64

	mu   sync.Mutex
	ring []*slot[V] // nil entries are listed in free
	free []int
	hand int
}

type slot[V any] struct {
	key ckey
	val V
	ref atomic.Bool
	idx int
}

func newCache[V any](max int) *cache[V] { return &cache[V]{max: max} }

// get returns the cached value for k.
func (c *cache[V]) get(k ckey) (V, bool) {
	v, ok := c.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	s := v.(*slot[V])
	if !s.ref.Load() {
		s.ref.Store(true)
	}
	return s.val, true
}

// generation returns the value to pass to add for a load starting now.
func (c *cache[V]) generation() uint64 { return c.gen.Load() }

// add caches val for k unless the cache changed since gen was read.
func (c *cache[V]) add(k ckey, val V, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	s := &slot[V]{key: k, val: val}
	switch old, ok := c.m.Load(k); {
	case ok:
		s.idx = old.(*slot[V]).idx
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
func (c *cache[V]) evict() int {
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

// remove drops k.
func (c *cache[V]) remove(k ckey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	if v, ok := c.m.LoadAndDelete(k); ok {
		i := v.(*slot[V]).idx
		c.ring[i] = nil
		c.free = append(c.free, i)
	}
}

// clear drops everything.
func (c *cache[V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.m.Clear()
	c.ring, c.free, c.hand = nil, nil, 0
}

// len returns the number of cached values.
func (c *cache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ring) - len(c.free)
}
