package sec

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"math/big"

	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
)

// Point encodes a public key as a compressed EccP256CurvePoint, the
// canonical form of keys in certificates and requests.
func Point(pub *ecdsa.PublicKey) ieee1609.EccP256CurvePoint {
	var x [32]byte
	pub.X.FillBytes(x[:])
	if pub.Y.Bit(0) == 0 {
		return ieee1609.EccP256CurvePoint{CompressedY0: &x}
	}
	return ieee1609.EccP256CurvePoint{CompressedY1: &x}
}

// PublicKey decodes a compressed or uncompressed point on curve and
// checks that it is on the curve.
func PublicKey(curve elliptic.Curve, p ieee1609.EccP256CurvePoint) (*ecdsa.PublicKey, error) {
	var x, y *big.Int
	switch {
	case p.UncompressedP256 != nil:
		x, y = new(big.Int).SetBytes(p.UncompressedP256.X[:]), new(big.Int).SetBytes(p.UncompressedP256.Y[:])
	case p.CompressedY0 != nil:
		x, y = decompress(curve, p.CompressedY0[:], 0)
	case p.CompressedY1 != nil:
		x, y = decompress(curve, p.CompressedY1[:], 1)
	default:
		return nil, errors.New("the key is not a compressed or uncompressed point")
	}
	if x == nil || !curve.IsOnCurve(x, y) {
		return nil, errors.New("the key is not a point on the curve")
	}
	return &ecdsa.PublicKey{Curve: curve, X: x, Y: y}, nil
}

// decompress finds y with the given parity on y² = x³ + ax + b (a = -3
// for both P-256 and the SM2 curve), or returns nil.
func decompress(curve elliptic.Curve, xb []byte, parity uint) (*big.Int, *big.Int) {
	params := curve.Params()
	x := new(big.Int).SetBytes(xb)
	if x.Cmp(params.P) >= 0 {
		return nil, nil
	}
	// x³ - 3x + b mod p
	y2 := new(big.Int).Exp(x, big.NewInt(3), params.P)
	y2.Sub(y2, new(big.Int).Mul(x, big.NewInt(3)))
	y2.Add(y2, params.B)
	y2.Mod(y2, params.P)
	y := new(big.Int).ModSqrt(y2, params.P)
	if y == nil {
		return nil, nil
	}
	if y.Bit(0) != parity {
		y.Sub(params.P, y)
	}
	return x, y
}

// VerificationKey is a certificate's or request's verification key as an
// EccP256CurvePoint under the profile (ecsigSm2 or ecdsaNistP256).
func (p *Profile) VerificationKey(pub *ecdsa.PublicKey) ieee1609.PublicVerificationKey {
	pt := Point(pub)
	if p.SM() {
		return ieee1609.PublicVerificationKey{EcsigSm2: &pt}
	}
	return ieee1609.PublicVerificationKey{EcdsaNistP256: &pt}
}

// EncryptionKey is a public encryption key under the profile.
func (p *Profile) EncryptionKey(pub *ecdsa.PublicKey) ieee1609.PublicEncryptionKey {
	pt := Point(pub)
	k := ieee1609.PublicEncryptionKey{SupportedSymmAlg: p.SymmAlg}
	if p.SM() {
		k.PublicKey.EcencSm2 = &pt
	} else {
		k.PublicKey.EciesNistP256 = &pt
	}
	return k
}

// VerifyingKey extracts the verification key of a certificate or
// request: the SM2 key under the Chinese profile, the P-256 key under
// IEEE's.
func VerifyingKey(k ieee1609.PublicVerificationKey) (*ecdsa.PublicKey, error) {
	switch {
	case k.EcsigSm2 != nil:
		return PublicKey(CN.Curve, *k.EcsigSm2)
	case k.EcdsaNistP256 != nil:
		return PublicKey(IEEE.Curve, *k.EcdsaNistP256)
	}
	return nil, errors.New("unsupported verification key algorithm")
}

// EncryptingKey extracts a public encryption key.
func EncryptingKey(k ieee1609.PublicEncryptionKey) (*ecdsa.PublicKey, error) {
	switch {
	case k.PublicKey.EcencSm2 != nil:
		return PublicKey(CN.Curve, *k.PublicKey.EcencSm2)
	case k.PublicKey.EciesNistP256 != nil:
		return PublicKey(IEEE.Curve, *k.PublicKey.EciesNistP256)
	}
	return nil, errors.New("unsupported encryption key algorithm")
}
