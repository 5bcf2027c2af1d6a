package device

import (
	"context"
	"crypto/cipher"
	"crypto/ecdsa"
	"fmt"
	"io"
	"slices"

	"github.com/emmansun/gmsm/cbcmac"
	"github.com/emmansun/gmsm/kdf"
	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/sm4gcm"
)

// sm4Key is an opened SM4 key. The AEAD and the block cipher hold no
// per-call state and are safe for concurrent use.
type sm4Key struct {
	dev   *Software
	key   []byte
	block cipher.Block
	aead  *sm4gcm.AEAD
}

// derivedSM4Key is an SM4 key made by Derive: it may be extracted.
type derivedSM4Key struct{ *sm4Key }

var (
	_ AEAD        = (*sm4Key)(nil)
	_ MAC         = (*sm4Key)(nil)
	_ Deriver     = (*sm4Key)(nil)
	_ Wrapper     = (*sm4Key)(nil)
	_ Extractable = derivedSM4Key{}
)

// Type returns SM4.
func (k *sm4Key) Type() KeyType { return SM4 }

// Seal appends nonce || ciphertext || tag to dst.
func (k *sm4Key) Seal(_ context.Context, dst []byte, rand io.Reader, plaintext, aad []byte) ([]byte, error) {
	out, err := k.aead.Seal(dst, rand, plaintext, aad)
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	return out, nil
}

// Open decrypts nonce || ciphertext || tag, appending the plaintext to dst.
func (k *sm4Key) Open(_ context.Context, dst, sealed, aad []byte) ([]byte, error) {
	out, err := k.aead.Open(dst, sealed, aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return out, nil
}

// MAC appends the 16-byte SM4-CMAC of msg to dst.
func (k *sm4Key) MAC(_ context.Context, dst, msg []byte) ([]byte, error) {
	m := cbcmac.NewCMAC(k.block, k.block.BlockSize())
	m.Write(msg)
	return m.Sum(dst), nil
}

// Derive returns the key KDF(K || info) truncated to an SM4 key.
func (k *sm4Key) Derive(_ context.Context, info []byte) (Key, error) {
	z := make([]byte, 0, len(k.key)+len(info))
	z = append(append(z, k.key...), info...)
	out := kdf.Kdf(sm3.New, z, SM4KeySize)
	clear(z)
	child, err := k.dev.openSM4(out)
	clear(out)
	if err != nil {
		return nil, err
	}
	return derivedSM4Key{child}, nil
}

// Wrap returns the key SM2-encrypted to pub.
func (k *sm4Key) Wrap(_ context.Context, pub *ecdsa.PublicKey, form SM2Form) ([]byte, error) {
	return encryptSM2(k.dev.rand, pub, k.key, form)
}

// Extract returns a copy of the derived key.
func (k derivedSM4Key) Extract(context.Context) ([]byte, error) { return slices.Clone(k.key), nil }
