package fieldcrypt

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// Limits bound the use of one cached data key, as the caching
// cryptographic materials manager of the AWS Encryption SDK does: a data
// key encrypts at most MaxMessages fields and MaxBytes bytes of them, and
// is used for at most MaxAge, then the next field fetches a fresh one.
// Decryption caches at most MaxEntries unwrapped keys, each for MaxAge
// (when full, it starts afresh).
type Limits struct {
	MaxAge      time.Duration
	MaxMessages uint64
	MaxBytes    uint64
	MaxEntries  int
}

// DefaultLimits are the limits of a zero Limits: five minutes, 2^32 fields
// (the GCM bound for one key with 96-bit counter nonces is far higher),
// 2^36 bytes, and 10,000 keys held for decryption.
var DefaultLimits = Limits{MaxAge: 5 * time.Minute, MaxMessages: 1 << 32, MaxBytes: 1 << 36, MaxEntries: 10000}

func (l Limits) orDefault() Limits {
	if l.MaxAge <= 0 {
		l.MaxAge = DefaultLimits.MaxAge
	}
	if l.MaxMessages == 0 {
		l.MaxMessages = DefaultLimits.MaxMessages
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultLimits.MaxEntries
	}
	return l
}

// Stats count the work of a Codec's key cache.
type Stats struct {
	Hits  uint64 `json:"hits"`  // fields served by a cached key
	Calls uint64 `json:"calls"` // calls to the key service
}

// HitRate is the share of key lookups the cache answered.
func (s Stats) HitRate() float64 {
	if s.Hits+s.Calls == 0 {
		return 0
	}
	return float64(s.Hits) / float64(s.Hits+s.Calls)
}

// Labels of the keys derived from a data key (HMAC-SM3 under the data key).
const (
	labelEncrypt = "MIMA-FIELD-1 encryption key"
	labelCommit  = "MIMA-FIELD-1 key commitment"
)

// dataKey is one data key as the cache holds it: the SM4-GCM of its
// encryption key, its commitment and its wrapped form.
type dataKey struct {
	gcm     cipher.AEAD
	commit  [sm3.Size]byte
	wrapped string
	born    time.Time
	// For encryption only: the next nonce, and the bytes sealed.
	next  atomic.Uint64
	bytes atomic.Uint64
}

// newDataKey derives the encryption key and the key commitment of raw, a
// 16-byte data key, which it clears.
func newDataKey(raw []byte, wrapped string, now time.Time) (*dataKey, error) {
	defer clear(raw)
	k := &dataKey{wrapped: wrapped, born: now}
	enc := hmacSM3(raw, labelEncrypt)
	defer clear(enc)
	copy(k.commit[:], hmacSM3(raw, labelCommit))
	block, err := sm4.NewCipher(enc[:16])
	if err != nil {
		return nil, err
	}
	if k.gcm, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	return k, nil
}

func hmacSM3(key []byte, msg string) []byte {
	m := hmac.New(sm3.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// cache holds the data key each mima key encrypts with now, and the data
// keys recently unwrapped.
type cache struct {
	ks     KeyService
	limits Limits
	now    func() time.Time
	hits   atomic.Uint64
	calls  atomic.Uint64

	fetch   sync.Mutex // one fetch of a data key for encryption at a time
	current sync.Map   // key name → *atomic.Pointer[dataKey]
	mu      sync.RWMutex
	opened  map[string]map[string]*dataKey // key name → wrapped form → key
	nopened int
}

func newCache(ks KeyService, l Limits, now func() time.Time) *cache {
	return &cache{ks: ks, limits: l.orDefault(), now: now, opened: map[string]map[string]*dataKey{}}
}

// forEncryption returns the data key to seal an n-byte field under key,
// with the field's nonce counter, fetching a fresh key when the current
// one has reached a limit.
func (c *cache) forEncryption(ctx context.Context, key string, n int) (*dataKey, uint64, error) {
	if uint64(n) > c.limits.MaxBytes {
		return nil, 0, fmt.Errorf("fieldcrypt: a %d-byte field is over the %d bytes a data key may encrypt", n, c.limits.MaxBytes)
	}
	v, ok := c.current.Load(key)
	if !ok {
		v, _ = c.current.LoadOrStore(key, new(atomic.Pointer[dataKey]))
	}
	slot := v.(*atomic.Pointer[dataKey])
	for {
		k := slot.Load()
		if k != nil && c.now().Sub(k.born) < c.limits.MaxAge {
			nonce := k.next.Add(1) - 1
			if nonce < c.limits.MaxMessages && k.bytes.Add(uint64(n)) <= c.limits.MaxBytes {
				c.hits.Add(1)
				return k, nonce, nil
			}
		}
		if err := c.refresh(ctx, key, slot, k); err != nil {
			return nil, 0, err
		}
	}
}

// refresh replaces the spent key old of slot with a fresh data key,
// unless another caller already has.
func (c *cache) refresh(ctx context.Context, key string, slot *atomic.Pointer[dataKey], old *dataKey) error {
	c.fetch.Lock()
	defer c.fetch.Unlock()
	if slot.Load() != old {
		return nil
	}
	c.calls.Add(1)
	raw, wrapped, err := c.ks.DataKey(ctx, key)
	if err != nil {
		return err
	}
	k, err := newDataKey(raw, wrapped, c.now())
	if err != nil {
		return err
	}
	slot.Store(k)
	return nil
}

// forDecryption returns the data key of a wrapped form under key.
func (c *cache) forDecryption(ctx context.Context, key string, wrapped []byte) (*dataKey, error) {
	c.mu.RLock()
	k := c.opened[key][string(wrapped)]
	c.mu.RUnlock()
	if k != nil && c.now().Sub(k.born) < c.limits.MaxAge {
		c.hits.Add(1)
		return k, nil
	}
	c.calls.Add(1)
	raw, err := c.ks.Unwrap(ctx, key, string(wrapped))
	if err != nil {
		return nil, err
	}
	if k, err = newDataKey(raw, string(wrapped), c.now()); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nopened >= c.limits.MaxEntries {
		c.opened, c.nopened = map[string]map[string]*dataKey{}, 0
	}
	m := c.opened[key]
	if m == nil {
		m = map[string]*dataKey{}
		c.opened[key] = m
	}
	if _, ok := m[k.wrapped]; !ok {
		c.nopened++
	}
	m[k.wrapped] = k
	return k, nil
}

// stats returns the counters.
func (c *cache) stats() Stats { return Stats{Hits: c.hits.Load(), Calls: c.calls.Load()} }
