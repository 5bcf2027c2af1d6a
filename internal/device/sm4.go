package device

import (
	"crypto/cipher"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/cbcmac"
	"github.com/emmansun/gmsm/kdf"
	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/sm4gcm"
)

// sm4Key is an opened SM4 key. The AEAD and the block cipher hold no
// per-call state and are safe for concurrent use.
type sm4Key struct {
	key   []byte
	block cipher.Block
	aead  *sm4gcm.AEAD
}

var (
	_ AEAD    = (*sm4Key)(nil)
	_ MAC     = (*sm4Key)(nil)
	_ Deriver = (*sm4Key)(nil)
)

// Type returns SM4.
func (k *sm4Key) Type() KeyType { return SM4 }

// Seal appends nonce || ciphertext || tag to dst.
func (k *sm4Key) Seal(dst []byte, rand io.Reader, plaintext, aad []byte) ([]byte, error) {
	out, err := k.aead.Seal(dst, rand, plaintext, aad)
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	return out, nil
}

// Open decrypts nonce || ciphertext || tag, appending the plaintext to dst.
func (k *sm4Key) Open(dst, sealed, aad []byte) ([]byte, error) {
	out, err := k.aead.Open(dst, sealed, aad)
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
