//go:build cgo && linux

package pkcs11

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"

	"github.com/mimacrypto/mima/internal/device"
)

// formWrapped is the first byte of a wrapped-mode stored form, followed
// by the sealed key.
const formWrapped = 1

// keyAAD binds a sealed key to its type and its token key.
func keyAAD(t device.KeyType, id []byte) []byte {
	return append([]byte("mima pkcs11 key v1\x00"+string(t)+"\x00"), id...)
}

// Random returns the device's random bit generator: mima's DRBG (GM/T
// 0105), seeded from the operating system.
func (d *Device) Random() io.Reader { return d.soft.Random() }

// checkType returns the error for a key type that wrapped mode cannot
// compute with: one the Software device does not implement.
func (d *Device) checkType(ctx context.Context, t device.KeyType) error {
	if _, err := d.soft.Open(ctx, t, nil); errors.Is(err, device.ErrUnsupportedType) {
		return err
	}
	return nil
}

// Generate makes a key of type t and returns it sealed under the token
// key of the tenant in ctx (device.WithTenant).
func (d *Device) Generate(ctx context.Context, t device.KeyType) ([]byte, error) {
	raw, err := d.soft.Generate(ctx, t)
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	return d.store(ctx, t, raw)
}

// store seals raw under the token key of the tenant in ctx.
func (d *Device) store(ctx context.Context, t device.KeyType, raw []byte) ([]byte, error) {
	id, err := d.tokenKey(ctx, wrapLabel(device.TenantOf(ctx)), true)
	if err != nil {
		return nil, err
	}
	return d.storeUnder(ctx, id, t, raw)
}

// storeUnder seals raw under the token key with CKA_ID id.
func (d *Device) storeUnder(ctx context.Context, id []byte, t device.KeyType, raw []byte) ([]byte, error) {
	blob, err := d.seal(ctx, id, raw, keyAAD(t, id))
	if err != nil {
		return nil, err
	}
	return append([]byte{formWrapped}, blob...), nil
}

// Open returns a handle on a stored key. It opens the key once, to check
// it (and to learn an SM2 key's public key), and wipes it again.
func (d *Device) Open(ctx context.Context, t device.KeyType, stored []byte) (device.Key, error) {
	if err := d.checkType(ctx, t); err != nil {
		return nil, err
	}
	if len(stored) == 0 || stored[0] != formWrapped {
		return nil, &device.MaterialError{Rule: "a PKCS#11 stored form must be a key sealed by the token"}
	}
	k := &key{d: d, t: t, stored: append([]byte(nil), stored...)}
	var pub *ecdsa.PublicKey
	if err := k.use(ctx, func(sk device.Key) error {
		if s, ok := sk.(device.Signer); ok {
			p := *s.Public()
			pub = &p
		}
		return nil
	}); err != nil {
		return nil, err
	}
	switch t {
	case device.SM4:
		return sm4Key{k}, nil
	case device.HMACSM3:
		return hmacKey{k}, nil
	case device.SM2:
		return sm2Key{k, pub}, nil
	}
	return k, nil
}

// Unwrap imports a key wrapped under wk, an SM2 key of this device, and
// seals it under the token key of the tenant in ctx.
func (d *Device) Unwrap(ctx context.Context, wk device.Key, t device.KeyType, wrapped []byte) ([]byte, error) {
	w, ok := wk.(sm2Key)
	if !ok || w.d != d {
		return nil, fmt.Errorf("%w: the wrapping key must be an SM2 key of this device", device.ErrNotSupported)
	}
	var raw []byte
	if err := w.use(ctx, func(sk device.Key) error {
		var err error
		raw, err = d.soft.Unwrap(ctx, sk, t, wrapped)
		return err
	}); err != nil {
		return nil, err
	}
	defer clear(raw)
	return d.store(ctx, t, raw)
}

// errKept is the answer to every request to let a key out.
var errKept = fmt.Errorf("%w: a PKCS#11 device keeps its keys in: they are neither backed up nor exported", device.ErrNotSupported)

// Backup refuses: keys never leave the token's protection.
func (d *Device) Backup(context.Context, device.KeyType, []byte) ([]byte, error) {
	return nil, errKept
}

// Restore refuses, as Backup does.
func (d *Device) Restore(context.Context, device.KeyType, []byte) ([]byte, error) {
	return nil, errKept
}

// key is a handle on a sealed key. It holds the stored form only; every
// operation opens the key into locked memory for the call.
type key struct {
	d      *Device
	t      device.KeyType
	stored []byte
}

// Type returns the key's type.
func (k *key) Type() device.KeyType { return k.t }

// use opens the key into locked memory, runs fn with a Software key made
// from it and wipes both.
func (k *key) use(ctx context.Context, fn func(device.Key) error) error {
	return k.openRaw(ctx, func(raw []byte) error {
		sk, err := k.d.soft.Open(ctx, k.t, raw)
		if err != nil {
			return err
		}
		defer device.Wipe(sk)
		return fn(sk)
	})
}

// openRaw opens the key into locked memory for fn and wipes it after.
func (k *key) openRaw(ctx context.Context, fn func(raw []byte) error) error {
	id, _ := sealedID(k.stored[1:])
	raw, err := k.d.unseal(ctx, k.stored[1:], keyAAD(k.t, id))
	if errors.Is(err, errCorrupt) {
		return &device.MaterialError{Rule: "the stored form does not open under its token key"}
	}
	if err != nil {
		return err
	}
	defer raw.free()
	return fn(raw.b)
}

// sm4Key is a sealed SM4 key.
type sm4Key struct{ *key }

// derivedKey is an SM4 key made by Derive: it may be extracted, as
// derived keys are made to be handed to devices (一机一密).
type derivedKey struct{ sm4Key }

// hmacKey is a sealed HMAC-SM3 key.
type hmacKey struct{ *key }

// sm2Key is a sealed SM2 private key and its public key.
type sm2Key struct {
	*key
	pub *ecdsa.PublicKey
}

var (
	_ device.AEAD        = sm4Key{}
	_ device.MAC         = sm4Key{}
	_ device.Deriver     = sm4Key{}
	_ device.Extractable = derivedKey{}
	_ device.MAC         = hmacKey{}
	_ device.Signer      = sm2Key{}
	_ device.Decrypter   = sm2Key{}
)

// Seal encrypts with SM4-GCM.
func (k sm4Key) Seal(ctx context.Context, dst []byte, rand io.Reader, plaintext, aad []byte) (out []byte, err error) {
	err = k.use(ctx, func(sk device.Key) error {
		out, err = sk.(device.AEAD).Seal(ctx, dst, rand, plaintext, aad)
		return err
	})
	return out, err
}

// Open decrypts with SM4-GCM.
func (k sm4Key) Open(ctx context.Context, dst, sealed, aad []byte) (out []byte, err error) {
	err = k.use(ctx, func(sk device.Key) error {
		out, err = sk.(device.AEAD).Open(ctx, dst, sealed, aad)
		return err
	})
	return out, err
}

// MAC computes SM4-CMAC.
func (k sm4Key) MAC(ctx context.Context, dst, msg []byte) ([]byte, error) {
	return mac(ctx, k.key, dst, msg)
}

// MAC computes HMAC-SM3.
func (k hmacKey) MAC(ctx context.Context, dst, msg []byte) ([]byte, error) {
	return mac(ctx, k.key, dst, msg)
}

func mac(ctx context.Context, k *key, dst, msg []byte) (out []byte, err error) {
	err = k.use(ctx, func(sk device.Key) error {
		out, err = sk.(device.MAC).MAC(ctx, dst, msg)
		return err
	})
	return out, err
}

// Derive returns KDF(K || info) as a new key, sealed under the parent's
// token key.
func (k sm4Key) Derive(ctx context.Context, info []byte) (device.Key, error) {
	var stored []byte
	err := k.use(ctx, func(sk device.Key) error {
		child, err := sk.(device.Deriver).Derive(ctx, info)
		if err != nil {
			return err
		}
		defer device.Wipe(child)
		raw, err := child.(device.Extractable).Extract(ctx)
		if err != nil {
			return err
		}
		defer clear(raw)
		id, _ := sealedID(k.stored[1:])
		stored, err = k.d.storeUnder(ctx, id, device.SM4, raw)
		return err
	})
	if err != nil {
		return nil, err
	}
	return derivedKey{sm4Key{&key{d: k.d, t: device.SM4, stored: stored}}}, nil
}

// Extract returns the derived key's bytes.
func (k derivedKey) Extract(ctx context.Context) (out []byte, err error) {
	err = k.openRaw(ctx, func(raw []byte) error {
		out = append([]byte(nil), raw...)
		return nil
	})
	return out, err
}

// Public returns the public key.
func (k sm2Key) Public() *ecdsa.PublicKey { return k.pub }

// Sign signs an SM2 e-value.
func (k sm2Key) Sign(ctx context.Context, digest []byte) (sig []byte, err error) {
	err = k.use(ctx, func(sk device.Key) error {
		sig, err = sk.(device.Signer).Sign(ctx, digest)
		return err
	})
	return sig, err
}

// Decrypt decrypts an SM2 ciphertext.
func (k sm2Key) Decrypt(ctx context.Context, ciphertext []byte) (pt []byte, err error) {
	err = k.use(ctx, func(sk device.Key) error {
		pt, err = sk.(device.Decrypter).Decrypt(ctx, ciphertext)
		return err
	})
	return pt, err
}
