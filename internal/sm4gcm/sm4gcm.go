// Package sm4gcm seals and opens short byte strings with SM4 in GCM mode
// (GB/T 32907 block cipher, NIST SP 800-38D mode) and a random 96-bit nonce.
// The sealed form is nonce || ciphertext || 16-byte tag.
package sm4gcm

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/emmansun/gmsm/sm4"
)

// KeySize is the SM4 key length in bytes.
const KeySize = 16

// NonceSize is the GCM nonce length used by Seal.
const NonceSize = 12

// TagSize is the length of the GCM authentication tag.
const TagSize = 16

// Overhead is the number of bytes Seal adds to the plaintext.
const Overhead = NonceSize + TagSize

// ErrOpen is returned when a sealed value fails authentication.
var ErrOpen = errors.New("sm4gcm: message authentication failed")

// AEAD is an SM4-GCM instance bound to one key.
type AEAD struct {
	gcm cipher.AEAD
}

// New returns an AEAD for a 16-byte SM4 key.
func New(key []byte) (*AEAD, error) {
	block, err := sm4.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return FromBlock(block)
}

// FromBlock returns an AEAD over an SM4 block cipher that the caller also
// uses for something else (the device's SM4-CMAC).
func FromBlock(block cipher.Block) (*AEAD, error) {
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &AEAD{gcm: gcm}, nil
}

// GCM returns the bare SM4-GCM cipher, for a format that places the nonce
// itself (a kms backup authenticates it within its header).
func (a *AEAD) GCM() cipher.AEAD { return a.gcm }

// Seal encrypts plaintext with a fresh nonce from rand, binding aad, and
// appends nonce || ciphertext || tag to dst, growing it at most once.
func (a *AEAD) Seal(dst []byte, rand io.Reader, plaintext, aad []byte) ([]byte, error) {
	dst = slices.Grow(dst, Overhead+len(plaintext))
	off := len(dst)
	dst = dst[:off+NonceSize]
	if _, err := io.ReadFull(rand, dst[off:]); err != nil {
		return nil, fmt.Errorf("sm4gcm: reading a nonce: %w", err)
	}
	return a.gcm.Seal(dst, dst[off:], plaintext, aad), nil
}

// Open authenticates and decrypts a value made by Seal, appending the
// plaintext to dst. Any failure is ErrOpen.
func (a *AEAD) Open(dst, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, ErrOpen
	}
	out, err := a.gcm.Open(dst, sealed[:NonceSize], sealed[NonceSize:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}
