// Package storage defines the Backend that keeps mima's bytes by path. Every
// backend (inmem, bolt, and later PostgreSQL) passes the same conformance
// suite in storagetest.
package storage

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Get when no entry exists at the path.
var ErrNotFound = errors.New("storage: entry not found")

// Op is one write in an atomic Batch: a put of Value at Key, or a delete of
// Key when Delete is set.
type Op struct {
	Key    string
	Value  []byte
	Delete bool
}

// Backend stores opaque values by path. Keys are non-empty UTF-8 strings;
// values may be empty. A successful write is durable when the call returns.
// Implementations are safe for concurrent use.
type Backend interface {
	// Get returns the value at key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Put stores value at key, replacing any previous value.
	Put(ctx context.Context, key string, value []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns, in ascending byte order, the keys that start with prefix
	// and sort strictly after the key after (all keys when after is ""), at
	// most limit of them (all when limit <= 0).
	List(ctx context.Context, prefix, after string, limit int) ([]string, error)
	// Batch applies all ops atomically: after a crash either all are visible
	// or none. Later ops on the same key win.
	Batch(ctx context.Context, ops []Op) error
	// Swap is a compare-and-swap: it applies ops atomically, as Batch
	// does, if every condition holds at that moment, and otherwise
	// changes nothing and returns an error wrapping ErrConflict. Writers
	// of independent entries never wait on each other.
	Swap(ctx context.Context, conds []Cond, ops []Op) error
}

// Closer is implemented by backends that hold resources (files, pools).
type Closer interface {
	Close() error
}

// Watcher is implemented by backends that several nodes share. Watch calls
// changed with the key of every entry that another node writes or deletes,
// and reset when changes may have been missed (the connection that
// carries them was lost), until ctx ends or the watch fails.
type Watcher interface {
	Watch(ctx context.Context, changed func(key string), reset func()) error
}

// Locker is implemented by backends that several nodes share: it takes
// cluster-wide locks. A lock is held until released or until its holder
// dies. Lock waits for the lock; TryLock reports ok false at once when
// another node holds it.
type Locker interface {
	Lock(ctx context.Context, name string) (Lock, error)
	TryLock(ctx context.Context, name string) (l Lock, ok bool, err error)
}

// Lock is a held cluster-wide lock.
type Lock interface {
	// Held reports whether the lock is still held: false once the session
	// that holds it is lost (the store restarted, the network failed).
	Held(ctx context.Context) bool
	// Release releases the lock; releasing twice is harmless.
	Release()
}
