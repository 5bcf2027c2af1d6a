package sdf

import (
	"crypto/ecdsa"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Algorithm identifiers of GM/T 0006 used by the library.
const (
	AlgSM2    uint32 = 0x00020100
	AlgSM2_1  uint32 = 0x00020200 // signature
	AlgSM2_3  uint32 = 0x00020800 // encryption
	AlgSM3    uint32 = 0x00000001
	AlgSM4    uint32 = 0x00000400
	AlgSM4ECB uint32 = 0x00000401
	AlgSM4CBC uint32 = 0x00000402
	AlgSM4CFB uint32 = 0x00000404
	AlgSM4OFB uint32 = 0x00000408
	AlgSM4MAC uint32 = 0x00000410
	AlgSM4CTR uint32 = 0x00000420
)

// coordLen is the size of an SM2 coordinate, scalar, r or s.
const coordLen = 32

// Signature is an SM2 signature (r, s), each big-endian in 32 bytes.
type Signature struct{ R, S [coordLen]byte }

// Cipher is an SM2 ciphertext in the parts of ECCCipher: the point C1
// (X, Y), the hash C3 (M) and the masked message C2 (C).
type Cipher struct {
	X, Y, M [coordLen]byte
	C       []byte
}

// SignatureFromDER splits a DER SM2 signature into r and s.
func SignatureFromDER(der []byte) (Signature, error) {
	var (
		sig   Signature
		r, s  big.Int
		seq   cryptobyte.String
		input = cryptobyte.String(der)
	)
	if !input.ReadASN1(&seq, asn1.SEQUENCE) || !input.Empty() || !seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() ||
		r.Sign() <= 0 || s.Sign() <= 0 || r.BitLen() > 8*coordLen || s.BitLen() > 8*coordLen {
		return sig, fail(SignErr, "malformed signature")
	}
	r.FillBytes(sig.R[:])
	s.FillBytes(sig.S[:])
	return sig, nil
}

// DER is the signature in DER.
func (sig Signature) DER() []byte {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(new(big.Int).SetBytes(sig.R[:]))
		b.AddASN1BigInt(new(big.Int).SetBytes(sig.S[:]))
	})
	return b.BytesOrPanic()
}

// cipherFromC1C3C2 splits 04 || X || Y || C3 || C2.
func cipherFromC1C3C2(b []byte) (Cipher, error) {
	var c Cipher
	if len(b) <= 1+3*coordLen || b[0] != 4 {
		return c, fail(EncDataErr, "malformed SM2 ciphertext")
	}
	copy(c.X[:], b[1:])
	copy(c.Y[:], b[1+coordLen:])
	copy(c.M[:], b[1+2*coordLen:])
	c.C = append([]byte(nil), b[1+3*coordLen:]...)
	return c, nil
}

// c1c3c2 is the ciphertext as 04 || X || Y || C3 || C2.
func (c Cipher) c1c3c2() []byte {
	b := make([]byte, 0, 1+3*coordLen+len(c.C))
	b = append(b, 4)
	b = append(b, c.X[:]...)
	b = append(b, c.Y[:]...)
	b = append(b, c.M[:]...)
	return append(b, c.C...)
}

// cipherFromMima parses mima's "mima:v<N>:<base64>" of an sm2 key in the
// c1c3c2 form.
func cipherFromMima(s string) (Cipher, error) {
	i := strings.LastIndexByte(s, ':')
	if !strings.HasPrefix(s, "mima:v") || i < 0 {
		return Cipher{}, fail(EncDataErr, "unexpected ciphertext form")
	}
	raw, err := base64.StdEncoding.DecodeString(s[i+1:])
	if err != nil {
		return Cipher{}, &Error{Code: EncDataErr, Err: err}
	}
	return cipherFromC1C3C2(raw)
}

// PublicKey builds an SM2 public key from its coordinates.
func PublicKey(x, y [coordLen]byte) (*ecdsa.PublicKey, error) {
	pub, err := sm2.NewPublicKey(append(append([]byte{4}, x[:]...), y[:]...))
	if err != nil {
		return nil, fail(KeyErr, "not a point of the SM2 curve")
	}
	return pub, nil
}

// Coordinates returns the coordinates of an SM2 public key.
func Coordinates(pub *ecdsa.PublicKey) (x, y [coordLen]byte, err error) {
	k, err := sm2.PublicKeyToECDH(pub)
	if err != nil {
		return x, y, &Error{Code: KeyErr, Err: err}
	}
	b := k.Bytes() // 04 || x || y
	copy(x[:], b[1:])
	copy(y[:], b[1+coordLen:])
	return x, y, nil
}

// checkAlg refuses an asymmetric algorithm other than SM2 (or the SM2 use want).
func checkAlg(alg, want uint32) error {
	if alg != AlgSM2 && alg != want {
		return fail(AlgNotSupport, "algorithm 0x%08X is not SM2", alg)
	}
	return nil
}

// privateKey builds an SM2 private key from its scalar.
func privateKey(d [coordLen]byte) (*sm2.PrivateKey, error) {
	priv, err := sm2.NewPrivateKey(d[:])
	if err != nil {
		return nil, fail(KeyErr, "not an SM2 private key")
	}
	return priv, nil
}

// ExternalSign signs the 32-byte digest e with the private key scalar d.
func ExternalSign(alg uint32, d [coordLen]byte, digest []byte) (Signature, error) {
	if err := checkAlg(alg, AlgSM2_1); err != nil {
		return Signature{}, err
	}
	if len(digest) != coordLen {
		return Signature{}, fail(InArgErr, "the data to sign is a 32-byte SM3 digest, not %d bytes", len(digest))
	}
	priv, err := privateKey(d)
	if err != nil {
		return Signature{}, err
	}
	der, err := sm2.SignASN1(randReader, priv, digest, nil)
	if err != nil {
		return Signature{}, &Error{Code: SignErr, Err: err}
	}
	return SignatureFromDER(der)
}

// ExternalVerify checks sig over the 32-byte digest with pub.
func ExternalVerify(alg uint32, pub *ecdsa.PublicKey, digest []byte, sig Signature) error {
	if err := checkAlg(alg, AlgSM2_1); err != nil {
		return err
	}
	if len(digest) != coordLen {
		return fail(InArgErr, "the signed data is a 32-byte SM3 digest, not %d bytes", len(digest))
	}
	if !sm2.VerifyASN1(pub, digest, sig.DER()) {
		return fail(VerifyErr, "signature does not verify")
	}
	return nil
}

// ExternalEncrypt encrypts data to pub.
func ExternalEncrypt(alg uint32, pub *ecdsa.PublicKey, data []byte) (Cipher, error) {
	if err := checkAlg(alg, AlgSM2_3); err != nil {
		return Cipher{}, err
	}
	if len(data) == 0 {
		return Cipher{}, fail(InArgErr, "nothing to encrypt")
	}
	ct, err := sm2.Encrypt(randReader, pub, data, sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2))
	if err != nil {
		return Cipher{}, &Error{Code: PKOpErr, Err: err}
	}
	return cipherFromC1C3C2(ct)
}

// ExternalDecrypt decrypts c with the private key scalar d.
func ExternalDecrypt(alg uint32, d [coordLen]byte, c Cipher) ([]byte, error) {
	if err := checkAlg(alg, AlgSM2_3); err != nil {
		return nil, err
	}
	priv, err := privateKey(d)
	if err != nil {
		return nil, err
	}
	pt, err := sm2.Decrypt(priv, c.c1c3c2())
	if err != nil {
		return nil, fail(EncDataErr, "SM2 decryption failed")
	}
	return pt, nil
}

// GenerateKeyPair makes an SM2 key pair and returns its public key and
// private scalar.
func GenerateKeyPair(alg, bits uint32) (*ecdsa.PublicKey, [coordLen]byte, error) {
	var d [coordLen]byte
	if alg != AlgSM2 && alg != AlgSM2_1 && alg != AlgSM2_3 {
		return nil, d, fail(AlgNotSupport, "algorithm 0x%08X is not SM2", alg)
	}
	if bits != 256 {
		return nil, d, fail(InArgErr, "SM2 keys have 256 bits, not %d", bits)
	}
	priv, err := sm2.GenerateKey(randReader)
	if err != nil {
		return nil, d, &Error{Code: RandErr, Err: fmt.Errorf("generating: %w", err)}
	}
	k, err := priv.ECDH()
	if err != nil {
		return nil, d, &Error{Code: KeyErr, Err: err}
	}
	copy(d[:], k.Bytes())
	return &priv.PublicKey, d, nil
}
