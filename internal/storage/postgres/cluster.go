package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mimacrypto/mima/internal/storage"
)

// Watch listens for the keys other nodes change. It holds one connection
// of the pool; when that connection is lost it calls reset (changes may
// have been missed), reconnects and listens again, until ctx ends.
func (b *Backend) Watch(ctx context.Context, changed func(key string), reset func()) error {
	for ctx.Err() == nil {
		err := b.listen(ctx, changed)
		if ctx.Err() != nil {
			break
		}
		reset()
		if err != nil && !waitRetry(ctx) {
			break
		}
	}
	return ctx.Err()
}

func (b *Backend) listen(ctx context.Context, changed func(key string)) error {
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `LISTEN `+channel); err != nil {
		conn.Conn().Close(ctx)
		return err
	}
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			conn.Conn().Close(context.Background())
			return err
		}
		node, key, ok := strings.Cut(n.Payload, " ")
		if ok && node != b.node {
			changed(key)
		}
	}
}

// Lock takes the cluster-wide advisory lock name, waiting for it.
func (b *Backend) Lock(ctx context.Context, name string) (storage.Lock, error) {
	l, ok, err := b.lock(ctx, name, `SELECT pg_advisory_lock(hashtextextended($1, 0)) IS NOT NULL`)
	if err == nil && !ok {
		err = fmt.Errorf("postgres: advisory lock %q not taken", name)
	}
	return l, err
}

// TryLock takes the advisory lock name if no session holds it.
func (b *Backend) TryLock(ctx context.Context, name string) (storage.Lock, bool, error) {
	return b.lock(ctx, name, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`)
}

// lock runs query on a connection of its own, which holds the lock (an
// advisory lock belongs to a session) until Release closes it.
func (b *Backend) lock(ctx context.Context, name, query string) (storage.Lock, bool, error) {
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return nil, false, unavailable(err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, query, name).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, unavailable(err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	return &advisoryLock{conn: conn}, true, nil
}

// advisoryLock is a session-level advisory lock on a connection kept out
// of the pool.
type advisoryLock struct {
	conn *pgxpool.Conn
	once sync.Once
}

// Held pings the session that holds the lock.
func (l *advisoryLock) Held(ctx context.Context) bool {
	return l.conn.Conn().Ping(ctx) == nil
}

// Release unlocks at once and returns the connection to the pool; a
// connection that cannot unlock is closed, which ends its session and so
// the lock.
func (l *advisoryLock) Release() {
	l.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`); err != nil {
			_ = l.conn.Conn().Close(ctx)
		}
		l.conn.Release()
	})
}

// waitRetry waits a second before a reconnection attempt; it reports
// false when ctx ends first.
func waitRetry(ctx context.Context) bool {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
