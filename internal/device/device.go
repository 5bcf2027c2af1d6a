// Package device is mima's boundary to the crypto resource pool: the place
// where keys are generated and where private and secret keys are used.
//
// A Device generates key material and opens it into a Key. The material is
// what the key service stores (behind the barrier) for a key version: the
// Software device stores raw key bytes, a device backed by an HSM would
// store a handle. An opened Key offers its operations through small
// interfaces found by type assertion:
//
//	sm4       AEAD (SM4-GCM), MAC (SM4-CMAC), Deriver (SM3 KDF)
//	sm2       crypto.Signer and crypto.Decrypter (SM2 with SM3)
//	hmac-sm3  MAC (HMAC-SM3)
//
// Operations with public keys (SM2 verification and encryption) need no
// device; VerifySM2 and SM2Digest serve them.
package device

import (
	"errors"
	"io"

	"github.com/mimacrypto/mima/internal/sm4gcm"
)

// KeyType names a kind of key.
type KeyType string

// The key types mima knows. SM9 (sm9-sign, sm9-encrypt) and ZUC (zuc) keys
// are planned; until a device implements them they are rejected like any
// unknown type, with ErrUnsupportedType.
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

// ErrUnsupportedType is returned, wrapped, for a key type the device does
// not implement.
var ErrUnsupportedType = errors.New("device: unsupported key type")

// ErrDecrypt is returned when a ciphertext fails authentication or cannot
// be decrypted. It deliberately carries no detail.
var ErrDecrypt = errors.New("device: decryption failed")

// Device generates key material and opens it for use. Implementations are
// safe for concurrent use.
type Device interface {
	// Random returns the device's random bit generator, safe for
	// concurrent use.
	Random() io.Reader
	// Generate returns fresh material for a key of type t.
	Generate(t KeyType) ([]byte, error)
	// Open returns a usable key for material made by Generate (or imported
	// in the same form). The key keeps no reference to material.
	Open(t KeyType, material []byte) (Key, error)
}

// Key is an opened key. Its operations are the interfaces below (and
// crypto.Signer and crypto.Decrypter for SM2); an opened key is safe for
// concurrent use.
type Key interface {
	Type() KeyType
}

// AEAD is implemented by SM4 keys: SM4-GCM with a random 96-bit nonce.
type AEAD interface {
	Key
	// Seal encrypts plaintext, binding aad, with a fresh nonce read from
	// rand and appends nonce || ciphertext || tag to dst.
	Seal(dst []byte, rand io.Reader, plaintext, aad []byte) ([]byte, error)
	// Open authenticates and decrypts nonce || ciphertext || tag, appending
	// the plaintext to dst. Any failure is ErrDecrypt.
	Open(dst, sealed, aad []byte) ([]byte, error)
}

// MAC is implemented by HMAC-SM3 keys (32-byte HMAC-SM3) and SM4 keys
// (16-byte SM4-CMAC, NIST SP 800-38B / GB/T 15852.1 MAC scheme 5).
type MAC interface {
	Key
	// MAC appends the tag of msg to dst.
	MAC(dst, msg []byte) []byte
}

// Deriver is implemented by SM4 keys. Derive returns child material of the
// same type: the first 16 bytes of KDF(K || info), the SM3 key derivation
// function of GB/T 32918.4 section 5.4.3, where K is the raw key.
type Deriver interface {
	Key
	Derive(info []byte) ([]byte, error)
}
