package device

import (
	"crypto/cipher"
	"fmt"
	"io"
	"slices"

	"github.com/emmansun/gmsm/cbcmac"
	"github.com/emmansun/gmsm/kdf"
	"github.com/emmansun/gmsm/sm3"
)

// sm4Key is an opened SM4 key. The GCM instance and the block cipher hold
// no per-call state and are safe for concurrent use.
type sm4Key struct {
	key   []byte
	block cipher.Block
	gcm   cipher.AEAD
}

var (
	_ AEAD    = (*sm4Key)(nil)
	_ MAC     = (*sm4Key)(nil)
	_ Deriver = (*sm4Key)(nil)
)

// Type returns SM4.
func (k *sm4Key) Type() KeyType { return SM4 }

// Seal appends nonce || ciphertext || tag to dst.
func (k *sm4Key) Seal(rand io.Reader, dst, plaintext, aad []byte) ([]byte, error) {
	dst = slices.Grow(dst, NonceSize+len(plaintext)+TagSize)
	off := len(dst)
	dst = dst[:off+NonceSize]
	if _, err := io.ReadFull(rand, dst[off:]); err != nil {
		return nil, fmt.Errorf("device: reading a nonce: %w", err)
	}
	return k.gcm.Seal(dst, dst[off:], plaintext, aad), nil
}

// Open decrypts nonce || ciphertext || tag, appending the plaintext to dst.
func (k *sm4Key) Open(dst, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < NonceSize+TagSize {
		return nil, ErrDecrypt
	}
	out, err := k.gcm.Open(dst, sealed[:NonceSize], sealed[NonceSize:], aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return out, nil
}

// MAC appends the 16-byte SM4-CMAC of msg to dst.
func (k *sm4Key) MAC(dst, msg []byte) []byte {
	m := cbcmac.NewCMAC(k.block, k.block.BlockSize())
	m.Write(msg)
	return m.Sum(dst)
}

// Derive returns KDF(K || info) truncated to an SM4 key.
func (k *sm4Key) Derive(info []byte) ([]byte, error) {
	z := make([]byte, 0, len(k.key)+len(info))
	z = append(append(z, k.key...), info...)
	out := kdf.Kdf(sm3.New, z, SM4KeySize)
	clear(z)
	return out, nil
}
