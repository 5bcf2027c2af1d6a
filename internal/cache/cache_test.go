package cache

import (
	"fmt"
	"sync"
	"testing"

	"github.com/mimacrypto/mima/internal/storage/paths"
)

func key(i int) paths.Key { return paths.Key{Tenant: "t", Name: fmt.Sprint(i)} }

func TestClockEviction(t *testing.T) {
	c := New[paths.Key, int](3, paths.ParseKey)
	for i := range 3 {
		c.Add(key(i), i, c.Generation())
	}
	c.Get(key(0)) // recently used: survives the next eviction
	c.Add(key(3), 3, c.Generation())
	if c.Len() != 3 {
		t.Fatalf("len %d, want 3", c.Len())
	}
	if _, ok := c.Get(key(0)); !ok {
		t.Error("evicted the referenced entry")
	}
	if _, ok := c.Get(key(1)); ok {
		t.Error("kept the unreferenced entry the hand reached first")
	}
	c.Remove(key(2))
	if _, ok := c.Get(key(2)); ok || c.Len() != 2 {
		t.Fatalf("remove: len %d", c.Len())
	}
	c.Add(key(4), 4, c.Generation()) // reuses the freed slot
	if v, ok := c.Get(key(4)); !ok || v != 4 || c.Len() != 3 {
		t.Fatalf("after reuse: %d %v len %d", v, ok, c.Len())
	}
	stale := c.Generation()
	c.Remove(key(9))
	c.Add(key(5), 5, stale)
	if _, ok := c.Get(key(5)); ok {
		t.Error("cached a value loaded before a change")
	}
	c.Purge()
	if _, ok := c.Get(key(0)); ok || c.Len() != 0 {
		t.Error("purge left entries")
	}
}

// TestBound: however many keys go in, and from however many goroutines,
// the cache never holds more than its size; a size below 1 means 1.
func TestBound(t *testing.T) {
	for _, size := range []int{-1, 0, 1, 7} {
		c := New[paths.Key, int](size, paths.ParseKey)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 200 {
					c.Add(key(g*1000+i), i, c.Generation())
					c.Get(key(g*1000 + i/2))
				}
			})
		}
		wg.Wait()
		if n, bound := c.Len(), max(size, 1); n != bound {
			t.Errorf("size %d: holds %d, want %d", size, n, bound)
		}
	}
}

// TestForget: a path of the cache's kind drops its entry and makes a load
// that started before stale; other paths change nothing.
func TestForget(t *testing.T) {
	c := New[paths.Key, int](10, paths.ParseKey)
	a, b := paths.Key{Tenant: "acme", Name: "a"}, paths.Key{Tenant: "acme", Name: "b"}
	c.Put(a, 1)
	c.Put(b, 2)
	for _, p := range []string{"t/acme/aliases/a", "t/acme/keys/a/x", "t/other/keys/a", "tokens/a"} {
		c.Forget(p)
	}
	if c.Len() != 2 {
		t.Fatalf("forgetting other paths dropped entries: len %d", c.Len())
	}
	stale := c.Generation()
	c.Forget(a.String())
	if _, ok := c.Get(a); ok {
		t.Error("Forget kept the entry")
	}
	if v, ok := c.Get(b); !ok || v != 2 {
		t.Error("Forget dropped another entry")
	}
	c.Add(a, 1, stale)
	if _, ok := c.Get(a); ok {
		t.Error("cached a value loaded before the change another node reported")
	}
	// A writer's Put wins over a load that read the record before it.
	loading := c.Generation()
	c.Put(b, 3)
	c.Add(b, 2, loading)
	if v, _ := c.Get(b); v != 3 {
		t.Errorf("a stale load replaced what a writer put: %d", v)
	}
}
