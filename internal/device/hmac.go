package device

import (
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"io"

	"github.com/emmansun/gmsm/sm3"
)

// hmacKey is an opened HMAC-SM3 key.
type hmacKey struct {
	key  []byte
	rand io.Reader
}

var (
	_ MAC     = (*hmacKey)(nil)
	_ Wrapper = (*hmacKey)(nil)
)

// Type returns HMACSM3.
func (k *hmacKey) Type() KeyType { return HMACSM3 }

// MAC appends the 32-byte HMAC-SM3 of msg to dst.
func (k *hmacKey) MAC(_ context.Context, dst, msg []byte) ([]byte, error) {
	m := hmac.New(sm3.New, k.key)
	m.Write(msg)
	return m.Sum(dst), nil
}

// Wrap returns the key SM2-encrypted to pub.
func (k *hmacKey) Wrap(_ context.Context, pub *ecdsa.PublicKey, form SM2Form) ([]byte, error) {
	return encryptSM2(k.rand, pub, k.key, form)
}
