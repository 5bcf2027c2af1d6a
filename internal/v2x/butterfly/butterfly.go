// Package butterfly implements the butterfly key expansion of IEEE 1609.2.1
// (clause 9.3, "original" form, ButterflyParamsOriginal in the EE–RA ASN.1),
// generic over the block cipher and the elliptic curve so that the IEEE
// profile (AES-128, NIST P-256) and the Chinese profile (SM4, SM2) share one
// implementation.
//
// # Expansion function
//
// For an i-period i, a certificate index j (both 32-bit unsigned) and a
// 16-byte expansion key k, the 128-bit expansion input is, big-endian:
//
//	x_sig = 0x00000000 || i (4 bytes) || j (4 bytes) || 0x00000000   (Signing)
//	x_enc = 0xFFFFFFFF || i (4 bytes) || j (4 bytes) || 0x00000000   (Encryption)
//
// and, with E_k the suite's 128-bit block cipher and x+1, x+2, x+3 the
// 128-bit big-endian sums (the last byte becomes 1, 2, 3),
//
//	f_k(x) = int(  (E_k(x+1) XOR (x+1))
//	            || (E_k(x+2) XOR (x+2))
//	            || (E_k(x+3) XOR (x+3)) ) mod n
//
// where int() reads the 48 bytes as a big-endian 384-bit integer and n is
// the order of the curve's base point G. This layout is the one of the CAMP
// test vectors (github.com/conz27/crypto-test-vectors, bfkeyexp), which the
// tests reproduce byte for byte for AES-128/P-256.
//
// # Keys
//
// The device holds caterpillar key pairs (a, A = a·G) for signing and
// (h, H = h·G) for encryption, each with its own expansion key. The RA forms
// cocoon public keys
//
//	B = A + f_k(x_sig(i,j))·G        Q = H + f_k(x_enc(i,j))·G
//
// ([Suite.ExpandPublic]); the device's matching private keys are
// a + f_k(x_sig) mod n and h + f_k(x_enc) mod n ([Suite.ExpandPrivate]).
// For an explicit certificate the PCA picks a random c in [1, n-1] and
// certifies B + c·G ([Suite.CertPublic]); the device's final private key is
// a + f_k(x_sig) + c mod n ([Suite.CertPrivate] applied to the cocoon
// private key).
//
// # Profiles
//
// [AESP256] is the IEEE profile. [SM4SM2] substitutes SM4 for AES-128 and
// the SM2 curve (GB/T 32918.5) for P-256, with n the SM2 group order. The
// IEEE 1609.2.1-2020 ASN.1 defines ButterflyExpansion with only the aes128
// alternative (plus an extension marker); the SM4 variant is the Chinese
// profile's substitution and no SM test vectors are known, so SM4SM2 is
// tested by its algebraic properties only.
//
// Point arithmetic uses the [elliptic.Curve] methods (ScalarBaseMult, Add),
// which are deprecated as a low-level API but are the one public interface
// that both crypto/elliptic's P-256 and gmsm's SM2 curve implement. They see
// points and scalars the RA or PCA knows (f_k, c), and a device private key
// only in [Suite.PublicKey]; the scalar multiplication runs on constant-time
// backends (crypto/internal/fips140/nistec, gmsm's sm2ec), the math/big
// conversions around it are not constant time.
package butterfly

//lint:file-ignore SA1019 v2x keeps points as *ecdsa.PublicKey on two curves (SM2, P-256) and butterfly keys add points, which gmsm v0.44.0 offers for SM2 only through elliptic.Curve; moving v2x to encoded points is open work (issue 23 item 6).

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/elliptic"
	"errors"
	"fmt"
	"math/big"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm4"
)

// KeySize is the length in bytes of an expansion key, and BlockSize the
// block length the suite's cipher must have.
const (
	KeySize   = 16
	BlockSize = 16
)

// Kind selects the expansion input layout: Signing (x_sig, first word
// 0x00000000) or Encryption (x_enc, first word 0xFFFFFFFF).
type Kind uint8

// The two kinds of butterfly key. The zero Kind is invalid.
const (
	Signing Kind = iota + 1
	Encryption
)

// String returns "signing" or "encryption".
func (k Kind) String() string {
	switch k {
	case Signing:
		return "signing"
	case Encryption:
		return "encryption"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Point is an affine curve point with coordinates in [0, p-1]. Functions
// of this package never return the point at infinity.
type Point struct {
	X, Y *big.Int
}

// Equal reports whether p and q have the same coordinates.
func (p Point) Equal(q Point) bool {
	if p.X == nil || p.Y == nil || q.X == nil || q.Y == nil {
		return false
	}
	return p.X.Cmp(q.X) == 0 && p.Y.Cmp(q.Y) == 0
}

// Suite is the block cipher and curve the expansion runs on.
type Suite struct {
	Name      string
	NewCipher func(key []byte) (cipher.Block, error) // 16-byte key, 16-byte block
	Curve     elliptic.Curve
}

// AESP256 is the IEEE 1609.2.1 / CAMP suite: AES-128 and NIST P-256.
var AESP256 = Suite{Name: "AES-128/P-256", NewCipher: aes.NewCipher, Curve: elliptic.P256()}

// SM4SM2 is the Chinese profile suite: SM4 and the SM2 curve.
var SM4SM2 = Suite{Name: "SM4/SM2", NewCipher: sm4.NewCipher, Curve: sm2.P256()}

// Errors returned for invalid inputs.
var (
	ErrKeySize  = errors.New("butterfly: expansion key must be 16 bytes")
	ErrKind     = errors.New("butterfly: unknown key kind")
	ErrScalar   = errors.New("butterfly: scalar out of range [1, n-1]")
	ErrPoint    = errors.New("butterfly: point is not on the curve")
	ErrInfinity = errors.New("butterfly: result is the point at infinity or the zero scalar")
)

// input returns the 16-byte expansion input x for kind, i and j.
func input(kind Kind, i, j uint32) ([16]byte, error) {
	var x [16]byte
	switch kind {
	case Signing:
	case Encryption:
		x[0], x[1], x[2], x[3] = 0xFF, 0xFF, 0xFF, 0xFF
	default:
		return x, ErrKind
	}
	putUint32(x[4:8], i)
	putUint32(x[8:12], j)
	return x, nil
}

func putUint32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

// add128 returns x + k as 128-bit big-endian integers, modulo 2^128.
func add128(x [16]byte, k byte) [16]byte {
	carry := uint16(k)
	for n := 15; n >= 0 && carry != 0; n-- {
		s := uint16(x[n]) + carry
		x[n] = byte(s)
		carry = s >> 8
	}
	return x
}

// trace holds the intermediates of one evaluation of f_k, for the tests.
type trace struct {
	in     [3][16]byte // x+1, x+2, x+3
	out    [3][16]byte // E_k(x+m)
	blocks [3][16]byte // E_k(x+m) XOR (x+m)
	fint   [48]byte    // blocks concatenated
}

// f evaluates f_k(x) mod n, filling tr when it is not nil.
func (s Suite) f(key []byte, kind Kind, i, j uint32, tr *trace) (*big.Int, error) {
	if len(key) != KeySize {
		return nil, ErrKeySize
	}
	x, err := input(kind, i, j)
	if err != nil {
		return nil, err
	}
	block, err := s.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("butterfly: %s cipher: %w", s.Name, err)
	}
	if block.BlockSize() != BlockSize {
		return nil, fmt.Errorf("butterfly: %s cipher has %d-byte blocks, want 16", s.Name, block.BlockSize())
	}
	var fint [48]byte
	for m := range 3 {
		xm := add128(x, byte(m+1))
		out := fint[16*m : 16*m+16]
		block.Encrypt(out, xm[:])
		if tr != nil {
			tr.in[m] = xm
			copy(tr.out[m][:], out)
		}
		for b := range out {
			out[b] ^= xm[b]
		}
		if tr != nil {
			copy(tr.blocks[m][:], out)
		}
	}
	if tr != nil {
		tr.fint = fint
	}
	v := new(big.Int).SetBytes(fint[:])
	return v.Mod(v, s.Curve.Params().N), nil
}

// F returns the expansion value f_k(x) mod n for kind, i and j (see the
// package documentation for the layout of x). key must be 16 bytes.
func (s Suite) F(key []byte, kind Kind, i, j uint32) (*big.Int, error) {
	return s.f(key, kind, i, j, nil)
}

// ExpandPublic returns the cocoon public key caterpillar + f_k(x)·G, which
// the RA computes: B from A for Signing, Q from H for Encryption.
func (s Suite) ExpandPublic(caterpillar Point, key []byte, kind Kind, i, j uint32) (Point, error) {
	if !s.onCurve(caterpillar) {
		return Point{}, ErrPoint
	}
	f, err := s.F(key, kind, i, j)
	if err != nil {
		return Point{}, err
	}
	return s.addMul(caterpillar, f)
}

// ExpandPrivate returns the cocoon private key a + f_k(x) mod n, where a
// (in [1, n-1]) is the caterpillar private key of the given kind.
func (s Suite) ExpandPrivate(a *big.Int, key []byte, kind Kind, i, j uint32) (*big.Int, error) {
	if !s.validScalar(a) {
		return nil, ErrScalar
	}
	f, err := s.F(key, kind, i, j)
	if err != nil {
		return nil, err
	}
	return s.addScalar(a, f)
}

// CertPublic returns the verification key cocoon + c·G of an explicit
// certificate, as the PCA computes it from the cocoon key B and its random
// c in [1, n-1].
func (s Suite) CertPublic(cocoon Point, c *big.Int) (Point, error) {
	if !s.onCurve(cocoon) {
		return Point{}, ErrPoint
	}
	if !s.validScalar(c) {
		return Point{}, ErrScalar
	}
	return s.addMul(cocoon, c)
}

// CertPrivate returns the private key cocoonPriv + c mod n of an explicit
// certificate, as the device reconstructs it from its cocoon private key
// (ExpandPrivate's a + f_k(x_sig)) and the c the PCA sent it; the result
// is a + f_k(x_sig) + c mod n and matches CertPublic(B, c).
func (s Suite) CertPrivate(cocoonPriv, c *big.Int) (*big.Int, error) {
	if !s.validScalar(cocoonPriv) || !s.validScalar(c) {
		return nil, ErrScalar
	}
	return s.addScalar(cocoonPriv, c)
}

// PublicKey returns k·G for a scalar k in [1, n-1], for instance a
// caterpillar public key from its private key.
func (s Suite) PublicKey(k *big.Int) (Point, error) {
	if !s.validScalar(k) {
		return Point{}, ErrScalar
	}
	x, y := s.Curve.ScalarBaseMult(s.scalarBytes(k))
	return Point{X: x, Y: y}, nil
}

// validScalar reports whether 0 < k < n.
func (s Suite) validScalar(k *big.Int) bool {
	return k != nil && k.Sign() > 0 && k.Cmp(s.Curve.Params().N) < 0
}

// onCurve reports whether p is a finite point on the curve.
func (s Suite) onCurve(p Point) bool {
	return p.X != nil && p.Y != nil && s.Curve.IsOnCurve(p.X, p.Y)
}

// scalarBytes encodes 0 <= k < n big-endian in the byte length of n.
func (s Suite) scalarBytes(k *big.Int) []byte {
	return k.FillBytes(make([]byte, (s.Curve.Params().N.BitLen()+7)/8))
}

// addMul returns p + k·G for a point p on the curve and 0 <= k < n.
func (s Suite) addMul(p Point, k *big.Int) (Point, error) {
	// k = 0 gives (0, 0), which Add takes as the point at infinity.
	x, y := s.Curve.ScalarBaseMult(s.scalarBytes(k))
	x, y = s.Curve.Add(p.X, p.Y, x, y)
	if x.Sign() == 0 && y.Sign() == 0 {
		return Point{}, ErrInfinity
	}
	return Point{X: x, Y: y}, nil
}

// addScalar returns a + b mod n, refusing a zero result.
func (s Suite) addScalar(a, b *big.Int) (*big.Int, error) {
	r := new(big.Int).Add(a, b)
	r.Mod(r, s.Curve.Params().N)
	if r.Sign() == 0 {
		return nil, ErrInfinity
	}
	return r, nil
}
