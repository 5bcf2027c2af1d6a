// Package inmem is a storage.Backend that keeps everything in memory. It is
// for tests and throwaway development servers: nothing survives the process.
package inmem

import (
	"context"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/mimacrypto/mima/internal/storage"
)

// maxLevel bounds the skip list height; with a branching factor of 4 it
// serves about 4^16 (4 billion) keys without degrading.
const maxLevel = 16

// node is one entry, linked into the skip list at len(next) levels.
type node struct {
	key   string
	value []byte
	next  []*node
}

// Backend is an in-memory storage.Backend, safe for concurrent use. A map
// gives O(1) Get; a skip list ordered by key gives O(log n) Put and Delete
// and O(log n + limit) List. Values are copied on the way in and out.
type Backend struct {
	mu    sync.RWMutex
	index map[string]*node
	head  node // sentinel; head.next has maxLevel entries
}

var _ storage.Backend = (*Backend)(nil)

// New returns an empty Backend.
func New() *Backend {
	return &Backend{
		index: make(map[string]*node),
		head:  node{next: make([]*node, maxLevel)},
	}
}

// Get returns a copy of the value at key, or storage.ErrNotFound.
func (b *Backend) Get(ctx context.Context, key string) ([]byte, error) {
	if err := check(ctx, "get", key); err != nil {
		return nil, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	n, ok := b.index[key]
	if !ok {
		return nil, fmt.Errorf("inmem: get %q: %w", key, storage.ErrNotFound)
	}
	return clone(n.value), nil
}

// Put stores a copy of value at key.
func (b *Backend) Put(ctx context.Context, key string, value []byte) error {
	if err := check(ctx, "put", key); err != nil {
		return err
	}
	value = clone(value)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.put(key, value)
	return nil
}

// Delete removes key; deleting an absent key is not an error.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := check(ctx, "delete", key); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.delete(key)
	return nil
}

// List returns the keys with prefix that sort after after, in byte order, at
// most limit of them (all when limit <= 0).
func (b *Backend) List(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inmem: list %q: %w", prefix, err)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	n := b.seek(max(prefix, after), nil)
	if n != nil && n.key == after {
		n = n.next[0]
	}
	var keys []string
	for ; n != nil && strings.HasPrefix(n.key, prefix); n = n.next[0] {
		if limit > 0 && len(keys) == limit {
			break
		}
		keys = append(keys, n.key)
	}
	return keys, nil
}

// Batch validates every op, then applies them all under one lock, so readers
// see none or all of them.
func (b *Backend) Batch(ctx context.Context, ops []storage.Op) error {
	return b.Swap(ctx, nil, ops)
}

// Swap applies ops as Batch does if every condition holds under the lock.
func (b *Backend) Swap(ctx context.Context, conds []storage.Cond, ops []storage.Op) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inmem: batch: %w", err)
	}
	if err := storage.CheckOps(ops); err != nil {
		return fmt.Errorf("inmem: batch: %w", err)
	}
	if err := storage.CheckConds(conds); err != nil {
		return fmt.Errorf("inmem: swap: %w", err)
	}
	values := make([][]byte, len(ops))
	for i, op := range ops {
		if !op.Delete {
			values[i] = clone(op.Value)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range conds {
		n, ok := b.index[c.Key]
		if ok == c.Absent || ok && string(n.value) != string(c.Value) {
			return fmt.Errorf("inmem: swap %q: %w", c.Key, storage.ErrConflict)
		}
	}
	for i, op := range ops {
		if op.Delete {
			b.delete(op.Key)
		} else {
			b.put(op.Key, values[i])
		}
	}
	return nil
}

// check rejects a done context or an invalid key for operation op.
func check(ctx context.Context, op, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inmem: %s %q: %w", op, key, err)
	}
	if err := storage.CheckKey(key); err != nil {
		return fmt.Errorf("inmem: %s: %w", op, err)
	}
	return nil
}

// clone copies v into fresh memory. It never returns nil, so Get of a stored
// empty value returns a non-nil empty slice.
func clone(v []byte) []byte {
	return append(make([]byte, 0, len(v)), v...)
}

// seek returns the first node whose key is >= key, or nil. If prev is not
// nil, it records at each level the last node whose key is < key.
func (b *Backend) seek(key string, prev *[maxLevel]*node) *node {
	x := &b.head
	for lvl := maxLevel - 1; lvl >= 0; lvl-- {
		for x.next[lvl] != nil && x.next[lvl].key < key {
			x = x.next[lvl]
		}
		if prev != nil {
			prev[lvl] = x
		}
	}
	return x.next[0]
}

// put sets key to value, which the caller has already copied. b.mu is held.
func (b *Backend) put(key string, value []byte) {
	if n, ok := b.index[key]; ok {
		n.value = value
		return
	}
	var prev [maxLevel]*node
	b.seek(key, &prev)
	// Each extra level has probability 1/4: two random bits per level.
	height := min(1+bits.TrailingZeros64(rand.Uint64())/2, maxLevel)
	n := &node{key: key, value: value, next: make([]*node, height)}
	for lvl := range height {
		n.next[lvl] = prev[lvl].next[lvl]
		prev[lvl].next[lvl] = n
	}
	b.index[key] = n
}

// delete removes key if present. b.mu is held.
func (b *Backend) delete(key string) {
	n, ok := b.index[key]
	if !ok {
		return
	}
	var prev [maxLevel]*node
	b.seek(key, &prev)
	for lvl := range n.next {
		prev[lvl].next[lvl] = n.next[lvl]
	}
	delete(b.index, key)
}
