package device

import (
	"crypto"
	"crypto/ecdsa"
	"errors"
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
}

var (
	_ crypto.Signer    = (*sm2Key)(nil)
	_ crypto.Decrypter = (*sm2Key)(nil)
)

// Type returns SM2.
func (k *sm2Key) Type() KeyType { return SM2 }

// Public returns the *ecdsa.PublicKey on the SM2 curve.
func (k *sm2Key) Public() crypto.PublicKey { return &k.priv.PublicKey }

// Sign signs digest, which must be the 32-byte SM2 e-value
// SM3(Z_A || message) (see SM2Digest), and returns a DER signature
// SEQUENCE { r INTEGER, s INTEGER }. opts, when not nil, must report hash
// function 0: the e-value is signed as given.
func (k *sm2Key) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if len(digest) != sm3.Size {
		return nil, errors.New("device: an SM2 signature input must be the 32-byte e-value")
	}
	if opts != nil && opts.HashFunc() != 0 {
		return nil, errors.New("device: SM2 signs the e-value as given; opts must not name a hash")
	}
	return sm2.SignASN1(rand, k.priv, digest, nil)
}

// Decrypt decrypts an SM2 ciphertext (GB/T 32918.4) in either the GM/T 0009
// ASN.1 form or the raw C1 || C3 || C2 form with an uncompressed C1; the
// first byte tells them apart. Any failure is ErrDecrypt.
func (k *sm2Key) Decrypt(_ io.Reader, msg []byte, _ crypto.DecrypterOpts) ([]byte, error) {
	pt, err := sm2.Decrypt(k.priv, msg)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
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
