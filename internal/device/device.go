// Package device is mima's boundary to the crypto resource pool: the place
// where keys are generated and where private and secret keys are used.
// docs/devices.md describes the design.
//
// A key is a handle the device owns. Generate returns the key's stored
// form: what the key service keeps (behind the barrier) for a key version
// and hands back to Open, without ever reading it. The Software device
// stores the raw key there; a device backed by an HSM stores a label or a
// blob wrapped under a key that never leaves the token. Open turns a stored
// form into a Key, whose operations are small interfaces found by type
// assertion:
//
//	sm4       AEAD (SM4-GCM), MAC (SM4-CMAC), Deriver (SM3 KDF), Wrapper
//	sm2       Signer, Decrypter (SM2 with SM3), Wrapper, and the
//	          wrapping key of Device.Unwrap
//	hmac-sm3  MAC (HMAC-SM3), Wrapper
//	zuc-128   StreamCipher (128-EEA3, 128-EIA3), Deriver, Wrapper
//	zuc-256   StreamCipher (ZUC-256 keystream and MAC), Deriver, Wrapper
//
// Keys come in through Unwrap (a GB/T 35276 envelope or an SM2-encrypted
// key) and leave only wrapped: under a caller's SM2 public key (Wrapper)
// or in the device's backup form (Backup, Restore). A key derived with
// Deriver is a new handle; only such keys may offer Extractable.
//
// Every method takes a context, and failures that a caller acts on are
// told apart with errors.Is: ErrBusy and ErrUnavailable (retry, perhaps on
// another device), ErrKeyNotFound (the device lacks a stored key),
// ErrNotSupported (the device cannot do this; ErrUnsupportedType for key
// types), ErrDecrypt, ErrUnwrap and ErrInvalidMaterial.
//
// Operations with public keys (SM2 verification and encryption) need no
// device; VerifySM2 and SM2Digest serve them. Package devicetest is the
// conformance suite every implementation passes.
package device

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"io"

	"github.com/mimacrypto/mima/internal/sm4gcm"
)

// KeyType names a kind of key.
type KeyType string

// The key types mima knows (zuc.go adds the ZUC types). SM9 keys
// (sm9-sign, sm9-encrypt) are planned; until a device implements them they
// are rejected like any unknown type, with ErrUnsupportedType.
const (
	SM4     KeyType = "sm4"      // 128-bit SM4 block cipher key (GB/T 32907)
	SM2     KeyType = "sm2"      // SM2 key pair on the recommended curve (GB/T 32918)
	HMACSM3 KeyType = "hmac-sm3" // HMAC key for SM3 (GB/T 15852.2, GB/T 32905)
)

// Sizes of the SM4-GCM sealed form: nonce || ciphertext || tag.
const (
	NonceSize = sm4gcm.NonceSize
	TagSize   = sm4gcm.TagSize
)

// Errors a caller tells apart with errors.Is. Devices wrap them with
// detail that is safe to log; none carries key material.
var (
	// ErrBusy: the device is at capacity now; retry later or elsewhere.
	ErrBusy = errors.New("device: busy")
	// ErrUnavailable: the device cannot be reached or has failed.
	ErrUnavailable = errors.New("device: unavailable")
	// ErrKeyNotFound: the device holds no key for a stored form.
	ErrKeyNotFound = errors.New("device: key not found")
	// ErrNotSupported: the device does not offer the operation, or not
	// for this key (a key that may not leave it, for instance).
	ErrNotSupported = errors.New("device: operation not supported")
	// ErrUnsupportedType is returned, wrapped with ErrNotSupported, for a
	// key type the device does not implement.
	ErrUnsupportedType = errors.New("device: unsupported key type")
	// ErrDecrypt is returned when a ciphertext fails authentication or
	// cannot be decrypted. It deliberately carries no detail.
	ErrDecrypt = errors.New("device: decryption failed")
	// ErrUnwrap is returned when wrapped key material does not open with
	// the wrapping key. It deliberately carries no detail.
	ErrUnwrap = errors.New("device: the wrapped key does not unwrap")
	// ErrInvalidMaterial is returned, as a *MaterialError naming the rule,
	// for key material that opens but breaks the rules of its type.
	ErrInvalidMaterial = errors.New("device: invalid key material")
)

// MaterialError is key material that breaks a rule of its type. Rule
// says which, in words safe to show to users; it never quotes material.
type MaterialError struct{ Rule string }

// Error returns the rule with the package prefix.
func (e *MaterialError) Error() string { return "device: invalid key material: " + e.Rule }

// Is makes a MaterialError match ErrInvalidMaterial.
func (e *MaterialError) Is(target error) bool { return target == ErrInvalidMaterial }

// SM2Form selects the form of an SM2 ciphertext (GB/T 32918.4).
type SM2Form uint8

// SM2 ciphertext forms.
const (
	// SM2ASN1 is the GM/T 0009 ASN.1 SEQUENCE {x, y, hash, ciphertext}.
	SM2ASN1 SM2Form = iota
	// SM2C1C3C2 is raw C1 || C3 || C2 with an uncompressed C1.
	SM2C1C3C2
)

// Device generates keys and opens their stored forms for use.
// Implementations are safe for concurrent use.
type Device interface {
	// Random returns the device's random bit generator, safe for
	// concurrent use.
	Random() io.Reader
	// Generate creates a key of type t and returns its stored form.
	Generate(ctx context.Context, t KeyType) ([]byte, error)
	// Open returns a handle on the key of type t with the given stored
	// form. The handle keeps no reference to stored.
	Open(ctx context.Context, t KeyType, stored []byte) (Key, error)
	// Unwrap imports a key of type t wrapped under wk, an SM2 key of this
	// device, and returns its stored form. wrapped is, for sm4,
	// hmac-sm3 and zuc keys, the raw key SM2-encrypted to wk (either SM2Form) and, for
	// sm2, a GB/T 35276 SM2EnvelopedKey for wk. Material that does not
	// open is ErrUnwrap; material that breaks the rules of t is a
	// *MaterialError.
	Unwrap(ctx context.Context, wk Key, t KeyType, wrapped []byte) ([]byte, error)
	// Backup returns the backup form of a stored key: what a backup
	// carries so that Restore, on this device or a peer sharing its
	// backup key, can take it back. A device whose keys may not leave
	// returns ErrNotSupported.
	Backup(ctx context.Context, t KeyType, stored []byte) ([]byte, error)
	// Restore takes a key back from its backup form and returns its
	// stored form; material that breaks the rules of t is a
	// *MaterialError.
	Restore(ctx context.Context, t KeyType, backup []byte) ([]byte, error)
}

// Key is a handle on a key of the device. Its operations are the
// interfaces below; a Key is safe for concurrent use.
type Key interface {
	Type() KeyType
}

// AEAD is implemented by SM4 keys: SM4-GCM with a random 96-bit nonce.
type AEAD interface {
	Key
	// Seal encrypts plaintext, binding aad, with a fresh nonce read from
	// rand and appends nonce || ciphertext || tag to dst.
	Seal(ctx context.Context, dst []byte, rand io.Reader, plaintext, aad []byte) ([]byte, error)
	// Open authenticates and decrypts nonce || ciphertext || tag, appending
	// the plaintext to dst. A ciphertext that does not open is ErrDecrypt.
	Open(ctx context.Context, dst, sealed, aad []byte) ([]byte, error)
}

// MAC is implemented by HMAC-SM3 keys (32-byte HMAC-SM3) and SM4 keys
// (16-byte SM4-CMAC, NIST SP 800-38B / GB/T 15852.1 MAC scheme 5).
type MAC interface {
	Key
	// MAC appends the tag of msg to dst.
	MAC(ctx context.Context, dst, msg []byte) ([]byte, error)
}

// Deriver is implemented by SM4 keys. Derive returns a new handle on a key
// of the same type: the first 16 bytes of KDF(K || info), the SM3 key
// derivation function of GB/T 32918.4 section 5.4.3, where K is the key.
// Derived keys are made to be handed to the devices of "one device, one
// key" (一机一密), so a device may make them Extractable.
type Deriver interface {
	Key
	Derive(ctx context.Context, info []byte) (Key, error)
}

// Extractable is implemented by derived keys whose device lets them out:
// Extract returns the raw key. Stored keys never implement it.
type Extractable interface {
	Key
	Extract(ctx context.Context) ([]byte, error)
}

// Signer is implemented by SM2 keys.
type Signer interface {
	Key
	// Public returns the public key, on the SM2 curve.
	Public() *ecdsa.PublicKey
	// Sign signs digest, the 32-byte SM2 e-value SM3(Z_A || message)
	// (see SM2Digest), and returns a DER SEQUENCE { r INTEGER, s INTEGER }.
	Sign(ctx context.Context, digest []byte) ([]byte, error)
}

// Decrypter is implemented by SM2 keys.
type Decrypter interface {
	Key
	// Decrypt decrypts an SM2 ciphertext in either SM2Form; the first
	// byte tells them apart. Any failure is ErrDecrypt.
	Decrypt(ctx context.Context, ciphertext []byte) ([]byte, error)
}

// Wrapper is implemented by keys that may leave the device wrapped under
// a transport key: the caller's SM2 public key pub.
type Wrapper interface {
	Key
	// Wrap returns, for sm4, hmac-sm3 and zuc keys, the raw key SM2-encrypted
	// to pub in the given form and, for sm2 keys, a GB/T 35276
	// SM2EnvelopedKey for pub (form must be SM2ASN1). A key that may not
	// leave the device is ErrNotSupported.
	Wrap(ctx context.Context, pub *ecdsa.PublicKey, form SM2Form) ([]byte, error)
}
