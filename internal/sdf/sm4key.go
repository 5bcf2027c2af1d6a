package sdf

import (
	"crypto/cipher"
	"fmt"

	smcipher "github.com/emmansun/gmsm/cipher"
	"github.com/emmansun/gmsm/sm4"
)

// SM4Key is a session key held in memory: the SDF library's session keys
// and the PKCS#11 module's session secret keys (internal/p11). Its bytes
// are cleared by Wipe; gmsm's expanded round keys are not reachable and
// go with the garbage collector.
type SM4Key struct {
	key   [sm4.BlockSize]byte
	block cipher.Block
}

// NewSM4Key makes the 16 bytes of raw an SM4Key and clears raw.
func NewSM4Key(raw []byte) (*SM4Key, error) {
	defer clear(raw)
	if len(raw) != sm4.BlockSize {
		return nil, fmt.Errorf("a session key is a 16-byte SM4 key, not %d bytes", len(raw))
	}
	k := &SM4Key{}
	copy(k.key[:], raw)
	b, err := sm4.NewCipher(k.key[:])
	if err != nil {
		return nil, fmt.Errorf("sm4: %w", err)
	}
	k.block = b
	return k, nil
}

// Value is a copy of the key's bytes.
func (k *SM4Key) Value() []byte { return append([]byte(nil), k.key[:]...) }

// Wipe clears the key's bytes.
func (k *SM4Key) Wipe() { clear(k.key[:]) }

// Mode is SM4 in ECB (iv nil) or in CBC from the 16-byte iv, encrypting
// or decrypting whole blocks.
func (k *SM4Key) Mode(iv []byte, encrypt bool) cipher.BlockMode {
	switch {
	case iv == nil && encrypt:
		return smcipher.NewECBEncrypter(k.block)
	case iv == nil:
		return smcipher.NewECBDecrypter(k.block)
	case encrypt:
		return cipher.NewCBCEncrypter(k.block, iv)
	default:
		return cipher.NewCBCDecrypter(k.block, iv)
	}
}
