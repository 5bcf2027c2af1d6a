package device

import (
	"crypto/hmac"

	"github.com/emmansun/gmsm/sm3"
)

// hmacKey is an opened HMAC-SM3 key.
type hmacKey struct {
	key []byte
}

var _ MAC = (*hmacKey)(nil)

// Type returns HMACSM3.
func (k *hmacKey) Type() KeyType { return HMACSM3 }

// MAC appends the 32-byte HMAC-SM3 of msg to dst.
func (k *hmacKey) MAC(dst, msg []byte) []byte {
	m := hmac.New(sm3.New, k.key)
	m.Write(msg)
	return m.Sum(dst)
}
