package device

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// DefaultUID is the signer identity SM2 uses when none is given
// (GM/T 0009-2012 section 10): the ASCII string "1234567812345678".
const DefaultUID = "1234567812345678"

// sm2Key is an opened SM2 private key.
type sm2Key struct {
	priv *sm2.PrivateKey
	rand io.Reader
}

var (
	_ Signer    = (*sm2Key)(nil)
	_ Decrypter = (*sm2Key)(nil)
	_ Wrapper   = (*sm2Key)(nil)
)

// Type returns SM2.
func (k *sm2Key) Type() KeyType { return SM2 }

// Public returns the public key on the SM2 curve.
func (k *sm2Key) Public() *ecdsa.PublicKey { return &k.priv.PublicKey }

// Sign signs the 32-byte e-value digest.
func (k *sm2Key) Sign(_ context.Context, digest []byte) ([]byte, error) {
	if len(digest) != sm3.Size {
		return nil, errors.New("device: an SM2 signature input must be the 32-byte e-value")
	}
	return sm2.SignASN1(k.rand, k.priv, digest, nil)
}

// Decrypt decrypts an SM2 ciphertext in either form. Any failure is
// ErrDecrypt.
func (k *sm2Key) Decrypt(_ context.Context, ciphertext []byte) ([]byte, error) {
	pt, err := sm2.Decrypt(k.priv, ciphertext)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// Wrap returns a GB/T 35276 SM2EnvelopedKey of the key for pub.
func (k *sm2Key) Wrap(_ context.Context, pub *ecdsa.PublicKey, form SM2Form) ([]byte, error) {
	if form != SM2ASN1 {
		return nil, fmt.Errorf("%w: sm2 keys leave as enveloped keys, not in another SM2 ciphertext form", ErrNotSupported)
	}
	env, err := sm2.MarshalEnvelopedPrivateKey(k.rand, pub, k.priv)
	if err != nil {
		return nil, fmt.Errorf("device: enveloping an SM2 key: %w", err)
	}
	return env, nil
}

// encryptSM2 encrypts msg to pub in the given form.
func encryptSM2(rand io.Reader, pub *ecdsa.PublicKey, msg []byte, form SM2Form) ([]byte, error) {
	var opts *sm2.EncrypterOpts
	switch form {
	case SM2ASN1:
		opts = sm2.ASN1EncrypterOpts
	case SM2C1C3C2:
		opts = sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2)
	default:
		return nil, fmt.Errorf("%w: SM2 ciphertext form %d", ErrNotSupported, form)
	}
	ct, err := sm2.Encrypt(rand, pub, msg, opts)
	if err != nil {
		return nil, fmt.Errorf("device: SM2 encryption: %w", err)
	}
	return ct, nil
}

// SM2Digest returns the e-value SM3(Z_A || msg) that an SM2 signature
// signs, with Z_A computed from pub and uid (DefaultUID when uid is empty)
// as in GB/T 32918.2-2016 section 5.5.
func SM2Digest(pub *ecdsa.PublicKey, uid, msg []byte) ([]byte, error) {
	return sm2.CalculateSM2Hash(pub, msg, uid)
}

// VerifySM2 reports whether sig, a DER SM2 signature, is valid for the
// e-value digest under pub.
func VerifySM2(pub *ecdsa.PublicKey, digest, sig []byte) bool {
	return sm2.VerifyASN1(pub, digest, sig)
}
