package tlcp

import (
	"container/list"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// ServerSessionState is a session the server can resume: what a full
// handshake established (GB/T 38636-2020 6.4.5.2.1, session_id).
type ServerSessionState struct {
	suite     uint16
	master    []byte
	peerCerts []*smx509.Certificate
	chains    [][]*smx509.Certificate
	created   time.Time
}

// ClientSessionState is a session the client can offer for resumption.
type ClientSessionState struct {
	sessionID []byte
	suite     uint16
	master    []byte
	peerCerts []*smx509.Certificate
	chains    [][]*smx509.Certificate
	created   time.Time
}

// ServerSessionCache stores server sessions by session ID. Put with a nil
// state deletes the entry. Implementations must be safe for concurrent use.
type ServerSessionCache interface {
	Get(sessionID string) (*ServerSessionState, bool)
	Put(sessionID string, s *ServerSessionState)
}

// ClientSessionCache stores client sessions by server key (the server name,
// or the remote address). Put with a nil state deletes the entry.
// Implementations must be safe for concurrent use.
type ClientSessionCache interface {
	Get(key string) (*ClientSessionState, bool)
	Put(key string, s *ClientSessionState)
}

// defaultCacheCapacity is used when a capacity below one is asked for.
const defaultCacheCapacity = 1024

// NewLRUServerSessionCache returns a ServerSessionCache that holds at most
// capacity sessions, evicting the least recently used. Expiry is enforced
// by the handshake against Config.SessionLifetime.
func NewLRUServerSessionCache(capacity int) ServerSessionCache {
	return newLRU[ServerSessionState](capacity)
}

// NewLRUClientSessionCache returns a ClientSessionCache that holds at most
// capacity sessions, evicting the least recently used.
func NewLRUClientSessionCache(capacity int) ClientSessionCache {
	return newLRU[ClientSessionState](capacity)
}

// lru is a bounded least-recently-used map of *T.
type lru[T any] struct {
	mu       sync.Mutex
	capacity int
	order    *list.List // of *lruEntry[T], most recent first
	items    map[string]*list.Element
}

type lruEntry[T any] struct {
	key   string
	value *T
}

func newLRU[T any](capacity int) *lru[T] {
	if capacity < 1 {
		capacity = defaultCacheCapacity
	}
	return &lru[T]{capacity: capacity, order: list.New(), items: make(map[string]*list.Element)}
}

// Get returns the value stored under key and marks it recently used.
func (c *lru[T]) Get(key string) (*T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*lruEntry[T]).value, true
	}
	return nil, false
}

// Put stores value under key, or deletes key when value is nil.
func (c *lru[T]) Put(key string, value *T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.Remove(e)
		delete(c.items, key)
	}
	if value == nil {
		return
	}
	c.items[key] = c.order.PushFront(&lruEntry[T]{key: key, value: value})
	if c.order.Len() > c.capacity {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*lruEntry[T]).key)
	}
}

// fresh reports whether a session created at created may still be resumed
// at now.
func fresh(created, now time.Time, lifetime time.Duration) bool {
	return !now.Before(created) && now.Sub(created) <= lifetime
}
