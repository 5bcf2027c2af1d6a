// Package postgres is a storage.Backend in PostgreSQL, for several mima
// nodes sharing one database. Beyond the Backend it offers what a cluster
// needs: storage.Watcher (every write is announced with NOTIFY in its own
// transaction, so other nodes drop their cached copies), storage.Locker
// (PostgreSQL advisory locks, released when their session ends, so a dead
// node's locks pass to the living) and audit.ChainStore (each node's audit
// chain in tables, partitioned by time, its sealed segments archived).
//
// The schema is created and migrated by Open, under an advisory lock so
// that nodes starting together migrate once; migrations are numbered and
// recorded in mima_schema.
package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

// channel is the NOTIFY channel that carries changed keys.
const channel = "mima_changes"

// Backend is a storage.Backend over a PostgreSQL connection pool.
type Backend struct {
	pool *pgxpool.Pool
	node string // prefixes this node's notifications so it can skip them
}

var (
	_ storage.Backend = (*Backend)(nil)
	_ storage.Watcher = (*Backend)(nil)
	_ storage.Locker  = (*Backend)(nil)
)

// Config is how to reach the database.
type Config struct {
	// DSN is a libpq connection string or URL; TLS to the database is
	// set there (sslmode, sslrootcert, ...).
	DSN string
	// MaxConns bounds the pool; 0 means DefaultMaxConns.
	MaxConns int32
}

// DefaultMaxConns is the pool size when Config.MaxConns is 0. A node keeps
// a few connections of its pool for long: one listening for changes, one
// per advisory lock it holds (its audit chain, the jobs lock). Its audit
// sink has one more of its own, outside the pool.
const DefaultMaxConns = 16

// Open connects, creates or migrates the schema, and returns the backend.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("postgres: bad DSN: %w", err)
	}
	pc.MaxConns = DefaultMaxConns
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	b := &Backend{pool: pool, node: hex.EncodeToString(id)}
	if err := b.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return b, nil
}

// Close closes the pool.
func (b *Backend) Close() error {
	b.pool.Close()
	return nil
}

// unavailable reports a database failure with the stable code that the API
// answers 503 for; the cause stays in the logs.
func unavailable(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fault.Wrap(err, fault.StorageFailure, "the database is unavailable; retry")
}

// Get returns the value at key.
func (b *Backend) Get(ctx context.Context, key string) ([]byte, error) {
	if err := storage.CheckKey(key); err != nil {
		return nil, err
	}
	var v []byte
	err := b.pool.QueryRow(ctx, `SELECT value FROM mima_kv WHERE key = $1`, []byte(key)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, unavailable(err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// Put stores value at key.
func (b *Backend) Put(ctx context.Context, key string, value []byte) error {
	return b.Batch(ctx, []storage.Op{{Key: key, Value: value}})
}

// Delete removes key.
func (b *Backend) Delete(ctx context.Context, key string) error {
	return b.Batch(ctx, []storage.Op{{Key: key, Delete: true}})
}

// List returns keys with prefix after after, in byte order, at most limit.
// Keys are bytea, so the order is the byte order and a prefix is a range.
func (b *Backend) List(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lo := []byte(max(prefix, after))
	q := `SELECT key FROM mima_kv WHERE key >= $1 AND ($2::bytea IS NULL OR key < $2) AND key <> $3 ORDER BY key`
	args := []any{lo, successor([]byte(prefix)), []byte(after)}
	if limit > 0 {
		q += ` LIMIT $4`
		args = append(args, limit)
	}
	rows, err := b.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, unavailable(err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var k []byte
		err := r.Scan(&k)
		return string(k), err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return keys, nil
}

// successor is the smallest byte string greater than every string with
// prefix p, or nil when there is none (p is empty or all 0xff).
func successor(p []byte) []byte {
	s := append([]byte(nil), p...)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] < 0xff {
			s[i]++
			return s[:i+1]
		}
	}
	return nil
}

// Batch applies ops in one transaction and announces each changed key.
func (b *Backend) Batch(ctx context.Context, ops []storage.Op) error {
	return b.Swap(ctx, nil, ops)
}

// SQLSTATEs that make a Swap report storage.ErrConflict: mima_expect's
// failed condition, a claimed key inserted first by another writer, and
// two swaps that each waited for the other.
const (
	errConflict       = "MIMA1"
	errUniqueViolated = "23505"
	errDeadlock       = "40P01"
)

// Swap applies ops if conds hold, in one round trip: the whole batch is
// one implicit transaction, which a failed condition aborts. A condition
// on a value locks its row (FOR UPDATE) so that a concurrent swap waits
// and then sees the new value; a condition of absence inserts a
// placeholder row, so a concurrent claim of the same key waits for this
// one and fails on the primary key if it committed.
func (b *Backend) Swap(ctx context.Context, conds []storage.Cond, ops []storage.Op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := storage.CheckOps(ops); err != nil {
		return err
	}
	if err := storage.CheckConds(conds); err != nil {
		return err
	}
	if len(ops) == 0 && len(conds) == 0 {
		return nil
	}
	written := make(map[string]bool, len(ops))
	for _, op := range ops {
		written[op.Key] = true
	}
	var batch pgx.Batch
	var placeholders []string
	for _, c := range conds {
		if c.Absent {
			batch.Queue(`INSERT INTO mima_kv (key, value) VALUES ($1, '')`, []byte(c.Key))
			if !written[c.Key] {
				placeholders = append(placeholders, c.Key)
			}
			continue
		}
		batch.Queue(`SELECT mima_expect(EXISTS (SELECT 1 FROM mima_kv WHERE key = $1 AND value = $2 FOR UPDATE))`, []byte(c.Key), nonNil(c.Value))
	}
	for _, op := range ops {
		if op.Delete {
			batch.Queue(`DELETE FROM mima_kv WHERE key = $1`, []byte(op.Key))
		} else {
			batch.Queue(`INSERT INTO mima_kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, []byte(op.Key), nonNil(op.Value))
		}
		batch.Queue(`SELECT pg_notify($1, $2)`, channel, b.node+" "+op.Key)
	}
	for _, k := range placeholders {
		batch.Queue(`DELETE FROM mima_kv WHERE key = $1`, []byte(k))
	}
	// Without BEGIN and COMMIT the batch is one implicit transaction that
	// ends at its single Sync: one round trip instead of three.
	err := b.pool.SendBatch(ctx, &batch).Close()
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			switch pgErr.Code {
			case "22021": // character not in repertoire
				return fmt.Errorf("%w: %v", storage.ErrInvalidKey, err)
			case errConflict, errUniqueViolated, errDeadlock:
				return fmt.Errorf("postgres: swap: %w", storage.ErrConflict)
			}
		}
		return unavailable(err)
	}
	return nil
}

// nonNil maps nil to an empty value: the value column is NOT NULL.
func nonNil(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}
