package sec

//lint:file-ignore SA1019 v2x keeps points as *ecdsa.PublicKey on two curves (SM2, P-256) and butterfly keys add points, which gmsm v0.44.0 offers for SM2 only through elliptic.Curve; moving v2x to encoded points is open work (issue 23 item 6).

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
	var enc []byte
	switch {
	case p.UncompressedP256 != nil:
		enc = append(append([]byte{4}, p.UncompressedP256.X[:]...), p.UncompressedP256.Y[:]...)
	case p.CompressedY0 != nil:
		enc = append([]byte{2}, p.CompressedY0[:]...)
	case p.CompressedY1 != nil:
		enc = append([]byte{3}, p.CompressedY1[:]...)
	default:
		return nil, errors.New("the key is not a compressed or uncompressed point")
	}
	// Both curves decode points with their own fast field arithmetic
	// (gmsm's SM2 curve implements UnmarshalCompressed).
	var x, y *big.Int
	if enc[0] == 4 {
		x, y = elliptic.Unmarshal(curve, enc)
	} else {
		x, y = elliptic.UnmarshalCompressed(curve, enc)
	}
	if x == nil {
		return nil, errors.New("the key is not a point on the curve")
	}
	return &ecdsa.PublicKey{Curve: curve, X: x, Y: y}, nil
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
