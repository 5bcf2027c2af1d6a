// Package ratelimit limits how often each client may ask: a token bucket
// per key (a client address, say), in bounded memory.
//
// A bucket holds up to burst tokens and gains rate tokens a second; each
// request takes one, and a request that finds less than one is refused
// with the time until the next token. At most a configured number of
// buckets are kept: when they are all in use, the buckets that have
// refilled (and so are the same as new ones) are dropped first, then
// arbitrary ones, so that a flood of distinct keys degrades the limit for
// some clients to their burst but never refuses a client it has not seen.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// DefaultMaxKeys is how many buckets a Limiter keeps by default.
const DefaultMaxKeys = 100_000

// Limiter is a set of token buckets by key. It is safe for concurrent use.
type Limiter struct {
	rate    float64 // tokens a second
	burst   float64
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	buckets map[string]bucket
}

// bucket holds tokens as of last.
type bucket struct {
	tokens float64
	last   time.Time
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithClock sets the clock; by default time.Now.
func WithClock(now func() time.Time) Option { return func(l *Limiter) { l.now = now } }

// WithMaxKeys bounds the buckets kept; n <= 0 means DefaultMaxKeys.
func WithMaxKeys(n int) Option { return func(l *Limiter) { l.maxKeys = n } }

// New returns a Limiter that lets each key make burst requests at once
// and rate requests a second after that. rate and burst must be positive.
func New(rate float64, burst int, opts ...Option) *Limiter {
	l := &Limiter{rate: rate, burst: float64(burst), now: time.Now, buckets: map[string]bucket{}}
	for _, o := range opts {
		o(l)
	}
	if l.maxKeys <= 0 {
		l.maxKeys = DefaultMaxKeys
	}
	return l
}

// Allow takes a token from key's bucket. When there is none it returns
// false and how long until there is one.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if ok {
		b = l.refill(b, now)
	} else {
		if len(l.buckets) >= l.maxKeys {
			l.shrink(now)
		}
		b = bucket{tokens: l.burst, last: now}
	}
	allowed := b.tokens >= 1
	if allowed {
		b.tokens--
	}
	l.buckets[key] = b
	if allowed {
		return true, 0
	}
	return false, time.Duration(math.Ceil((1 - b.tokens) / l.rate * float64(time.Second)))
}

// refill adds the tokens b gained since its last use, up to burst. A
// clock that went back adds none.
func (l *Limiter) refill(b bucket, now time.Time) bucket {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
		b.last = now
	}
	return b
}

// shrink makes room for new buckets: it drops every full bucket and then,
// if fewer than an eighth of the places are free, arbitrary buckets until
// they are, so that shrinking runs once per many new keys.
func (l *Limiter) shrink(now time.Time) {
	for key, b := range l.buckets {
		if l.refill(b, now).tokens >= l.burst {
			delete(l.buckets, key)
		}
	}
	keep := l.maxKeys - max(1, l.maxKeys/8)
	for key := range l.buckets {
		if len(l.buckets) <= keep {
			break
		}
		delete(l.buckets, key)
	}
}

// Rate is the tokens a bucket gains a second.
func (l *Limiter) Rate() float64 { return l.rate }

// Len is how many buckets are kept.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
