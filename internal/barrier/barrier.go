// Package barrier encrypts everything mima stores. A Barrier is itself a
// storage.Backend: every value written through it is sealed with SM4-GCM
// under the active keyring term, with the entry's path as additional
// authenticated data, so that an entry copied to another path fails to
// decrypt. The keyring is stored sealed under the root key, which the
// barrier holds only in memory while unsealed and never stores.
//
// Stored layout, in the underlying backend:
//
//	sys/keyring   the keyring, sealed under the root key (AAD "sys/keyring")
//	b/<path>      entries: 0x01 || term (4 bytes, big endian) || nonce || ciphertext || tag
//
// The "sys/" space is for the few records that must be read before the
// barrier is unsealed; callers of the barrier cannot reach it.
package barrier

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

const (
	keyringPath   = "sys/keyring"
	entryPrefix   = "b/"
	formatVersion = 1
	headerSize    = 1 + 4
)

// ErrSealed is returned by every operation while the barrier is sealed.
var ErrSealed = storage.ErrSealed

// ErrCorrupt is returned when a stored entry fails authentication: it was
// altered, moved from another path, or written under an unknown key.
var ErrCorrupt = errors.New("barrier: stored entry failed authentication")

// Barrier is an encrypting view of a storage.Backend.
type Barrier struct {
	raw  storage.Backend
	rand io.Reader
	now  func() time.Time

	ring   atomic.Pointer[keyring] // nil while sealed
	writeM sync.Mutex              // serialises keyring changes
}

// Option configures a Barrier.
type Option func(*Barrier)

// WithRand sets the source of nonces and new keys (default crypto/rand).
func WithRand(r io.Reader) Option { return func(b *Barrier) { b.rand = r } }

// WithClock sets the clock used to stamp keyring terms.
func WithClock(now func() time.Time) Option { return func(b *Barrier) { b.now = now } }

// New returns a sealed Barrier over raw.
func New(raw storage.Backend, opts ...Option) *Barrier {
	b := &Barrier{raw: raw, rand: rand.Reader, now: time.Now}
	for _, o := range opts {
		o(b)
	}
	return b
}

// Initialize creates a keyring with one term, stores it sealed under
// rootKey and leaves the barrier unsealed. It replaces any keyring left by an
// earlier, unfinished initialisation; callers decide whether the cluster is
// already initialised.
func (b *Barrier) Initialize(ctx context.Context, rootKey []byte) error {
	b.writeM.Lock()
	defer b.writeM.Unlock()
	kr, err := newKeyring(rootKey)
	if err != nil {
		return err
	}
	if err := kr.addTerm(b.rand, b.now()); err != nil {
		return err
	}
	if err := b.storeKeyring(ctx, kr); err != nil {
		return err
	}
	b.ring.Store(kr)
	return nil
}

// Unseal loads the keyring with rootKey. A wrong root key leaves the barrier
// sealed and returns an error with code unseal_failed.
func (b *Barrier) Unseal(ctx context.Context, rootKey []byte) error {
	b.writeM.Lock()
	defer b.writeM.Unlock()
	kr, err := b.loadKeyring(ctx, rootKey)
	if err != nil {
		return err
	}
	b.ring.Store(kr)
	return nil
}

// Seal forgets the keyring and the root key. Go cannot guarantee that no
// copy of a key survives in memory, but mima keeps none of its own.
func (b *Barrier) Seal() {
	b.writeM.Lock()
	defer b.writeM.Unlock()
	if kr := b.ring.Swap(nil); kr != nil {
		kr.wipe()
	}
}

// Sealed reports whether the barrier is sealed.
func (b *Barrier) Sealed() bool { return b.ring.Load() == nil }

// Status describes the keyring.
type Status struct {
	Term        uint32
	Terms       int
	InstallTime time.Time
}

// Status returns the active term, or ErrSealed.
func (b *Barrier) Status() (Status, error) {
	kr := b.ring.Load()
	if kr == nil {
		return Status{}, ErrSealed
	}
	return Status{Term: kr.active, Terms: len(kr.terms), InstallTime: kr.terms[kr.active].installed}, nil
}

// Rotate adds a keyring term that all later writes use. Entries written
// under earlier terms stay readable.
func (b *Barrier) Rotate(ctx context.Context) (Status, error) {
	b.writeM.Lock()
	defer b.writeM.Unlock()
	cur := b.ring.Load()
	if cur == nil {
		return Status{}, ErrSealed
	}
	next := cur.clone()
	if err := next.addTerm(b.rand, b.now()); err != nil {
		return Status{}, err
	}
	if err := b.storeKeyring(ctx, next); err != nil {
		return Status{}, err
	}
	b.ring.Store(next)
	return b.Status()
}

// Get returns the decrypted value at key.
func (b *Barrier) Get(ctx context.Context, key string) ([]byte, error) {
	kr := b.ring.Load()
	if kr == nil {
		return nil, ErrSealed
	}
	sealed, err := b.raw.Get(ctx, entryPrefix+key)
	if err != nil {
		return nil, err
	}
	return b.open(ctx, kr, key, sealed)
}

// Put encrypts value under the active term and stores it at key.
func (b *Barrier) Put(ctx context.Context, key string, value []byte) error {
	kr := b.ring.Load()
	if kr == nil {
		return ErrSealed
	}
	if err := storage.CheckKey(key); err != nil {
		return err
	}
	sealed, err := kr.seal(b.rand, key, value)
	if err != nil {
		return err
	}
	return b.raw.Put(ctx, entryPrefix+key, sealed)
}

// Delete removes key.
func (b *Barrier) Delete(ctx context.Context, key string) error {
	if b.Sealed() {
		return ErrSealed
	}
	if err := storage.CheckKey(key); err != nil {
		return err
	}
	return b.raw.Delete(ctx, entryPrefix+key)
}

// List lists keys under prefix; see storage.Backend.
func (b *Barrier) List(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	if b.Sealed() {
		return nil, ErrSealed
	}
	if after != "" {
		after = entryPrefix + after
	}
	keys, err := b.raw.List(ctx, entryPrefix+prefix, after, limit)
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		keys[i] = strings.TrimPrefix(k, entryPrefix)
	}
	return keys, nil
}

// Batch encrypts and applies ops atomically.
func (b *Barrier) Batch(ctx context.Context, ops []storage.Op) error {
	return b.Swap(ctx, nil, ops)
}

// Swap encrypts ops and applies them if conds, stated in plaintext, hold.
// Sealing is randomised, so a condition on a value reads the sealed entry,
// compares its plaintext and becomes a condition on those sealed bytes.
func (b *Barrier) Swap(ctx context.Context, conds []storage.Cond, ops []storage.Op) error {
	kr := b.ring.Load()
	if kr == nil {
		return ErrSealed
	}
	if err := storage.CheckOps(ops); err != nil {
		return err
	}
	if err := storage.CheckConds(conds); err != nil {
		return err
	}
	raw := make([]storage.Cond, len(conds))
	for i, c := range conds {
		raw[i] = storage.Cond{Key: entryPrefix + c.Key, Absent: c.Absent}
		if c.Absent {
			continue
		}
		sealed, err := b.raw.Get(ctx, raw[i].Key)
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("barrier: swap %q: %w", c.Key, storage.ErrConflict)
		}
		if err != nil {
			return err
		}
		v, err := b.open(ctx, kr, c.Key, sealed)
		if err != nil {
			return err
		}
		if !bytes.Equal(v, c.Value) {
			return fmt.Errorf("barrier: swap %q: %w", c.Key, storage.ErrConflict)
		}
		raw[i].Value = sealed
	}
	out := make([]storage.Op, len(ops))
	for i, op := range ops {
		out[i] = storage.Op{Key: entryPrefix + op.Key, Delete: op.Delete}
		if op.Delete {
			continue
		}
		sealed, err := kr.seal(b.rand, op.Key, op.Value)
		if err != nil {
			return err
		}
		out[i].Value = sealed
	}
	return b.raw.Swap(ctx, raw, out)
}

// open decrypts an entry read at key. An entry under a term this node has
// not seen (another node rotated the keyring) triggers one keyring reload.
func (b *Barrier) open(ctx context.Context, kr *keyring, key string, sealed []byte) ([]byte, error) {
	if len(sealed) < headerSize || sealed[0] != formatVersion {
		return nil, fmt.Errorf("%w: %s: unknown entry format", ErrCorrupt, key)
	}
	term := binary.BigEndian.Uint32(sealed[1:headerSize])
	if _, ok := kr.terms[term]; !ok {
		fresh, err := b.reload(ctx, kr)
		if err != nil {
			return nil, err
		}
		kr = fresh
	}
	return kr.open(key, term, sealed)
}

// reload re-reads the keyring with the root key held by kr, if the barrier
// is still unsealed with kr.
func (b *Barrier) reload(ctx context.Context, kr *keyring) (*keyring, error) {
	b.writeM.Lock()
	defer b.writeM.Unlock()
	if cur := b.ring.Load(); cur != kr {
		if cur == nil {
			return nil, ErrSealed
		}
		return cur, nil
	}
	fresh, err := b.loadKeyring(ctx, kr.rootKey)
	if err != nil {
		return nil, err
	}
	b.ring.Store(fresh)
	return fresh, nil
}

func (b *Barrier) storeKeyring(ctx context.Context, kr *keyring) error {
	plain, err := kr.marshal()
	if err != nil {
		return err
	}
	sealed, err := kr.rootAEAD.Seal(nil, b.rand, plain, []byte(keyringPath))
	clear(plain)
	if err != nil {
		return fmt.Errorf("barrier: sealing keyring: %w", err)
	}
	if err := b.raw.Put(ctx, keyringPath, sealed); err != nil {
		return fmt.Errorf("barrier: storing keyring: %w", err)
	}
	return nil
}

func (b *Barrier) loadKeyring(ctx context.Context, rootKey []byte) (*keyring, error) {
	sealed, err := b.raw.Get(ctx, keyringPath)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fault.New(fault.NotInitialized, "mima is not initialised")
	}
	if err != nil {
		return nil, fmt.Errorf("barrier: reading keyring: %w", err)
	}
	kr, err := newKeyring(rootKey)
	if err != nil {
		return nil, err
	}
	plain, err := kr.rootAEAD.Open(nil, sealed, []byte(keyringPath))
	if err != nil {
		return nil, fault.New(fault.UnsealFailed, "the root key does not open the keyring")
	}
	defer clear(plain)
	if err := kr.unmarshal(plain); err != nil {
		return nil, err
	}
	return kr, nil
}

// keyringJSON is the stored form of a keyring.
type keyringJSON struct {
	Active uint32     `json:"active"`
	Terms  []termJSON `json:"terms"`
}

type termJSON struct {
	Term      uint32    `json:"term"`
	Key       []byte    `json:"key"`
	Installed time.Time `json:"installed"`
}

var errKeyringCorrupt = errors.New("barrier: keyring is corrupt")

func (kr *keyring) marshal() ([]byte, error) {
	out := keyringJSON{Active: kr.active}
	for t := uint32(1); t <= kr.active; t++ {
		tk, ok := kr.terms[t]
		if !ok {
			continue
		}
		out.Terms = append(out.Terms, termJSON{Term: t, Key: tk.key, Installed: tk.installed})
	}
	return json.Marshal(out)
}

func (kr *keyring) unmarshal(b []byte) error {
	var in keyringJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("%w: %v", errKeyringCorrupt, err)
	}
	for _, t := range in.Terms {
		if err := kr.install(t.Term, t.Key, t.Installed); err != nil {
			return err
		}
	}
	if _, ok := kr.terms[in.Active]; !ok {
		return fmt.Errorf("%w: active term %d missing", errKeyringCorrupt, in.Active)
	}
	kr.active = in.Active
	return nil
}
