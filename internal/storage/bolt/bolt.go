// Package bolt is a storage.Backend kept in a single bbolt file: mima's
// embedded, single-node store. Every write is fsynced before it returns.
package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/mimacrypto/mima/internal/storage"
)

// lockTimeout is how long Open waits for the file lock held by another
// process before giving up.
const lockTimeout = time.Second

// bucketName is the one bucket that holds every key.
var bucketName = []byte("mima")

// Backend is a storage.Backend backed by a bbolt file. It is safe for
// concurrent use; Close it when done.
type Backend struct {
	db   *bbolt.DB
	path string

	mu         sync.Mutex // guards queue and committing
	queue      []*pending
	committing bool
}

var (
	_ storage.Backend = (*Backend)(nil)
	_ storage.Closer  = (*Backend)(nil)
)

// Open opens or creates the database file at path, creating missing parent
// directories with mode 0700 and the file with mode 0600. It fails after
// about a second if another process holds the file open.
func Open(path string) (*Backend, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("bolt: create data dir for %s: %w", path, err)
	}
	opts := *bbolt.DefaultOptions
	opts.Timeout = lockTimeout
	db, err := bbolt.Open(path, 0o600, &opts)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("bolt: open %s: data dir is in use by another mima process (waited %v for the file lock): %w", path, lockTimeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketName)
		return err
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("bolt: create bucket in %s: %w", path, err), db.Close())
	}
	return &Backend{db: db, path: path}, nil
}

// Close closes the database file; every later operation fails. Closing an
// already closed Backend is a no-op.
func (b *Backend) Close() error {
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("bolt: close %s: %w", b.path, err)
	}
	return nil
}

// Get returns a copy of the value at key, or storage.ErrNotFound.
func (b *Backend) Get(ctx context.Context, key string) ([]byte, error) {
	if err := b.check(ctx, "get", key); err != nil {
		return nil, err
	}
	var value []byte
	err := b.db.View(func(tx *bbolt.Tx) error {
		// Seek rather than Bucket.Get so that an empty value is told apart
		// from a missing key by the key, not by the nil-ness of the value.
		k, v := tx.Bucket(bucketName).Cursor().Seek([]byte(key))
		if k == nil || string(k) != key {
			return storage.ErrNotFound
		}
		// v points into the mmap and is only valid inside the transaction.
		value = append(make([]byte, 0, len(v)), v...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bolt %s: get %q: %w", b.path, key, err)
	}
	return value, nil
}

// Put stores value at key and returns once it is fsynced.
func (b *Backend) Put(ctx context.Context, key string, value []byte) error {
	if err := b.check(ctx, "put", key); err != nil {
		return err
	}
	if err := b.write(nil, []storage.Op{{Key: key, Value: value}}); err != nil {
		return fmt.Errorf("bolt %s: put: %w", b.path, err)
	}
	return nil
}

// Delete removes key and returns once the removal is fsynced; deleting an
// absent key is not an error.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := b.check(ctx, "delete", key); err != nil {
		return err
	}
	if err := b.write(nil, []storage.Op{{Key: key, Delete: true}}); err != nil {
		return fmt.Errorf("bolt %s: delete: %w", b.path, err)
	}
	return nil
}

// List returns the keys with prefix that sort after after, in byte order, at
// most limit of them (all when limit <= 0). It seeks straight to the first
// candidate, so a page costs O(log n + limit) however many keys there are.
func (b *Backend) List(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bolt %s: list %q: %w", b.path, prefix, err)
	}
	var keys []string
	err := b.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketName).Cursor()
		p := []byte(prefix)
		k, _ := c.Seek([]byte(max(prefix, after)))
		if k != nil && string(k) == after {
			k, _ = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			if limit > 0 && len(keys) == limit {
				break
			}
			keys = append(keys, string(k))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bolt %s: list %q: %w", b.path, prefix, err)
	}
	return keys, nil
}

// Batch applies ops in one transaction, which bbolt commits atomically, and
// returns once it is fsynced. Invalid keys are rejected before any write.
func (b *Backend) Batch(ctx context.Context, ops []storage.Op) error {
	return b.Swap(ctx, nil, ops)
}

// Swap applies ops as Batch does if every condition holds when its turn
// in the group commit comes; a writer whose conditions fail is left out of
// the commit without failing the others.
func (b *Backend) Swap(ctx context.Context, conds []storage.Cond, ops []storage.Op) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt %s: batch: %w", b.path, err)
	}
	if err := storage.CheckOps(ops); err != nil {
		return fmt.Errorf("bolt %s: batch: %w", b.path, err)
	}
	if err := storage.CheckConds(conds); err != nil {
		return fmt.Errorf("bolt %s: swap: %w", b.path, err)
	}
	for _, op := range ops {
		if err := b.checkLen("batch", op.Key); err != nil {
			return err
		}
	}
	if len(ops) == 0 && len(conds) == 0 {
		return nil
	}
	if err := b.write(conds, ops); err != nil {
		return fmt.Errorf("bolt %s: batch of %d: %w", b.path, len(ops), err)
	}
	return nil
}

// errLead tells a queued writer that it now leads the next commit.
var errLead = errors.New("bolt: lead the next commit")

// pending is one caller's ops waiting for a commit.
type pending struct {
	conds  []storage.Cond
	ops    []storage.Op
	done   chan error // receives errLead or the commit's result
	failed error      // a condition that did not hold
}

// write applies ops, in order, if conds hold, and returns once they are
// fsynced.
//
// Writes are group-committed without any fixed delay: a writer that finds
// no commit running commits at once; writers arriving meanwhile queue up,
// and when the commit ends the first of them leads the next one, taking
// the whole queue into one transaction and one fsync. A lone writer thus
// pays one fsync, and many concurrent writers share them. (bbolt's own
// db.Batch waits up to MaxBatchDelay, 10ms, before committing, which made a
// lone writer 30 times slower.) All callers in one transaction share its
// result: keys are checked before they are queued, so one caller cannot
// fail the others, and one whose conditions fail is skipped alone.
func (b *Backend) write(conds []storage.Cond, ops []storage.Op) error {
	p := &pending{conds: conds, ops: ops, done: make(chan error, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, p)
	if !b.committing {
		b.committing = true
		b.mu.Unlock()
		b.commitRound()
	} else {
		b.mu.Unlock()
	}
	for {
		err := <-p.done
		if err != errLead {
			return err
		}
		b.commitRound()
	}
}

// commitRound commits everything queued in one transaction, reports the
// result to each caller and hands the lead to the next queued writer.
func (b *Backend) commitRound() {
	b.mu.Lock()
	batch := b.queue
	b.queue = nil
	b.mu.Unlock()
	err := b.db.Update(func(tx *bbolt.Tx) error {
		bucket := tx.Bucket(bucketName)
		for _, p := range batch {
			if p.failed = checkConds(bucket, p.conds); p.failed != nil {
				continue
			}
			for _, op := range p.ops {
				var err error
				if op.Delete {
					err = bucket.Delete([]byte(op.Key))
				} else {
					err = bucket.Put([]byte(op.Key), op.Value)
				}
				if err != nil {
					return fmt.Errorf("%q: %w", op.Key, err)
				}
			}
		}
		return nil
	})
	for _, p := range batch {
		if err == nil && p.failed != nil {
			p.done <- p.failed
			continue
		}
		p.done <- err
	}
	b.mu.Lock()
	if len(b.queue) > 0 {
		b.queue[0].done <- errLead
	} else {
		b.committing = false
	}
	b.mu.Unlock()
}

// checkConds reports the first condition that does not hold in bucket.
func checkConds(bucket *bbolt.Bucket, conds []storage.Cond) error {
	for _, c := range conds {
		k, v := bucket.Cursor().Seek([]byte(c.Key))
		ok := k != nil && string(k) == c.Key
		if ok == c.Absent || ok && !bytes.Equal(v, c.Value) {
			return fmt.Errorf("%q: %w", c.Key, storage.ErrConflict)
		}
	}
	return nil
}

// check rejects a done context or an invalid key for operation op.
func (b *Backend) check(ctx context.Context, op, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt %s: %s %q: %w", b.path, op, key, err)
	}
	if err := storage.CheckKey(key); err != nil {
		return fmt.Errorf("bolt %s: %s: %w", b.path, op, err)
	}
	return b.checkLen(op, key)
}

// checkLen rejects keys that bbolt cannot store, so that one caller's bad
// key never fails a transaction shared with others.
func (b *Backend) checkLen(op, key string) error {
	if len(key) > bbolt.MaxKeySize {
		return fmt.Errorf("bolt %s: %s: %w: longer than %d bytes", b.path, op, storage.ErrInvalidKey, bbolt.MaxKeySize)
	}
	return nil
}
