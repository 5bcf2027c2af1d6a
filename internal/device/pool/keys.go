package pool

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/mimacrypto/mima/internal/device"
)

// handle is a key of the pool: its replicas, each opened on its member
// at first use.
type handle struct {
	p     *Pool
	t     device.KeyType
	names []string
	reps  []*openReplica
}

type openReplica struct {
	stored []byte
	mu     sync.Mutex
	key    device.Key
}

// open returns the replica's key on m, opening it at first use.
func (r *openReplica) open(ctx context.Context, m *member, t device.KeyType) (device.Key, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.key != nil {
		return r.key, nil
	}
	k, err := call(m, func() (device.Key, error) { return m.Device.Open(ctx, t, r.stored) })
	if err != nil {
		return nil, err
	}
	r.key = k
	return k, nil
}

// do runs fn with the key on the members holding it, in the pool's order,
// until one succeeds or fails for a reason another member would share:
// busy, unavailable and a replica the member lost go to the next.
func do[T any](ctx context.Context, h *handle, fn func(m *member, k device.Key) (T, error)) (T, error) {
	var zero T
	var last error
	for _, i := range h.p.order(h.names) {
		m := h.p.byName[h.names[i]]
		k, err := h.reps[i].open(ctx, m, h.t)
		if err == nil {
			var v T
			if v, err = call(m, func() (T, error) { return fn(m, k) }); err == nil {
				return v, nil
			}
		}
		if !retryable(err) && !errors.Is(err, device.ErrKeyNotFound) {
			return zero, err
		}
		last = err
	}
	return zero, noDevice(last)
}

// use runs op, an operation of interface I, with the key.
func use[I any, T any](ctx context.Context, h *handle, op func(I) (T, error)) (T, error) {
	return do(ctx, h, func(_ *member, k device.Key) (T, error) {
		i, ok := k.(I)
		if !ok {
			var zero T
			return zero, fmt.Errorf("pool: the %s key does not offer this operation: %w", h.t, device.ErrNotSupported)
		}
		return op(i)
	})
}

// Open returns a handle on the key that dispatches each operation to a
// member holding it. It opens one replica now, so that a stored form no
// member takes is refused here.
func (p *Pool) Open(ctx context.Context, t device.KeyType, stored []byte) (device.Key, error) {
	f := p.parse(stored)
	h := &handle{p: p, t: t, names: f.devices()}
	known := false
	for _, r := range f.Replicas {
		h.reps = append(h.reps, &openReplica{stored: r.Stored})
		_, ok := p.byName[r.Device]
		known = known || ok
	}
	if !known {
		return nil, fmt.Errorf("pool: no device of the pool holds the key (placed on %q): %w", f.On, device.ErrKeyNotFound)
	}
	first, err := do(ctx, h, func(_ *member, k device.Key) (device.Key, error) { return k, nil })
	if err != nil {
		return nil, err
	}
	switch t {
	case device.SM4:
		return sm4Key{macKey{base{h}}}, nil
	case device.HMACSM3:
		return hmacKey{macKey{base{h}}}, nil
	case device.SM2:
		s, ok := first.(device.Signer)
		if !ok {
			return nil, fmt.Errorf("pool: the sm2 key has no public key: %w", device.ErrNotSupported)
		}
		return sm2Key{base{h}, s.Public()}, nil
	}
	// Types the pool does not dispatch are served by one replica.
	return first, nil
}

// base is what every key of the pool has.
type base struct{ h *handle }

func (k base) Type() device.KeyType { return k.h.t }
func (k base) handle() *handle      { return k.h }

// Wrap exports the key from a member holding it.
func (k base) Wrap(ctx context.Context, pub *ecdsa.PublicKey, form device.SM2Form) ([]byte, error) {
	return use(ctx, k.h, func(w device.Wrapper) ([]byte, error) { return w.Wrap(ctx, pub, form) })
}

// macKey is the MAC of sm4 and hmac-sm3 keys.
type macKey struct{ base }

// MAC computes the tag on a member holding the key.
func (k macKey) MAC(ctx context.Context, dst, msg []byte) ([]byte, error) {
	return use(ctx, k.h, func(m device.MAC) ([]byte, error) { return m.MAC(ctx, dst, msg) })
}

type sm4Key struct{ macKey }

type hmacKey struct{ macKey }

type sm2Key struct {
	base
	pub *ecdsa.PublicKey
}

var (
	_ device.AEAD    = sm4Key{}
	_ device.MAC     = sm4Key{}
	_ device.Deriver = sm4Key{}
	_ device.Wrapper = sm4Key{}
	_ device.MAC     = hmacKey{}
	_ device.Wrapper = hmacKey{}
	_ device.Signer  = sm2Key{}
	_ device.Wrapper = sm2Key{}
)

// Seal encrypts on a member holding the key.
func (k sm4Key) Seal(ctx context.Context, dst []byte, rand io.Reader, plaintext, aad []byte) ([]byte, error) {
	return use(ctx, k.h, func(a device.AEAD) ([]byte, error) { return a.Seal(ctx, dst, rand, plaintext, aad) })
}

// Open decrypts on a member holding the key.
func (k sm4Key) Open(ctx context.Context, dst, sealed, aad []byte) ([]byte, error) {
	return use(ctx, k.h, func(a device.AEAD) ([]byte, error) { return a.Open(ctx, dst, sealed, aad) })
}

// Derive derives on a member holding the key; the derived key is a handle
// of that member.
func (k sm4Key) Derive(ctx context.Context, info []byte) (device.Key, error) {
	return use(ctx, k.h, func(d device.Deriver) (device.Key, error) { return d.Derive(ctx, info) })
}

// Public returns the public key.
func (k sm2Key) Public() *ecdsa.PublicKey { return k.pub }

// Sign signs on a member holding the key.
func (k sm2Key) Sign(ctx context.Context, digest []byte) ([]byte, error) {
	return use(ctx, k.h, func(s device.Signer) ([]byte, error) { return s.Sign(ctx, digest) })
}

// Decrypt decrypts on a member holding the key.
func (k sm2Key) Decrypt(ctx context.Context, ciphertext []byte) ([]byte, error) {
	return use(ctx, k.h, func(d device.Decrypter) ([]byte, error) { return d.Decrypt(ctx, ciphertext) })
}
