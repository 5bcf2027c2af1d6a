package sec

import (
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"

	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
)

// hashOf returns the hash named by a HashAlgorithm value.
func hashOf(alg uint8) (func() hash.Hash, error) {
	switch alg {
	case ieee1609.HashSHA256:
		return sha256.New, nil
	case ieee1609.HashSHA384:
		return sha512.New384, nil
	case ieee1609.HashSM3:
		return sm3.New, nil
	}
	return nil, fmt.Errorf("unknown hash algorithm %d", alg)
}

// CertHashAlg is the hash algorithm of a certificate's whole-certificate
// hash (IEEE 1609.2-2022 6.4.3): the one its issuer field names.
func CertHashAlg(c *ieee1609.Certificate) (uint8, error) {
	switch is := c.Issuer; {
	case is.Self != nil:
		return *is.Self, nil
	case is.Sha256AndDigest != nil:
		return ieee1609.HashSHA256, nil
	case is.Sha384AndDigest != nil:
		return ieee1609.HashSHA384, nil
	case is.Sm3AndDigest != nil:
		return ieee1609.HashSM3, nil
	}
	return 0, fmt.Errorf("certificate issuer names no hash algorithm")
}

// CanonicalCert is the COER encoding of c as hashed and as signer input
// (6.4.3): an ECDSA signature's r is encoded x-only.
func CanonicalCert(c *ieee1609.Certificate) ([]byte, error) {
	cc := *c
	if s := c.Signature; s != nil {
		sc := *s
		for _, p := range []**ieee1609.EcdsaP256Signature{&sc.EcdsaNistP256Signature, &sc.EcdsaBrainpoolP256r1Signature} {
			if *p != nil {
				sig := **p
				sig.RSig = xOnly(sig.RSig)
				*p = &sig
			}
		}
		cc.Signature = &sc
	}
	return coer.Marshal(&cc)
}

// xOnly keeps a point's x coordinate.
func xOnly(p ieee1609.EccP256CurvePoint) ieee1609.EccP256CurvePoint {
	var x *[32]byte
	switch {
	case p.XOnly != nil:
		return p
	case p.CompressedY0 != nil:
		x = p.CompressedY0
	case p.CompressedY1 != nil:
		x = p.CompressedY1
	case p.UncompressedP256 != nil:
		x = &p.UncompressedP256.X
	default:
		return p
	}
	v := *x
	return ieee1609.EccP256CurvePoint{XOnly: &v}
}

// CertDigest is the whole-certificate hash of c and its algorithm.
func CertDigest(c *ieee1609.Certificate) ([]byte, uint8, error) {
	alg, err := CertHashAlg(c)
	if err != nil {
		return nil, 0, err
	}
	h, err := hashOf(alg)
	if err != nil {
		return nil, 0, err
	}
	enc, err := CanonicalCert(c)
	if err != nil {
		return nil, 0, err
	}
	d := h()
	d.Write(enc)
	return d.Sum(nil), alg, nil
}

// tail is the low-order n bytes of the certificate's hash.
func tail(c *ieee1609.Certificate, n int) ([]byte, error) {
	d, _, err := CertDigest(c)
	if err != nil {
		return nil, err
	}
	return d[len(d)-n:], nil
}

// HashedID8 is the low-order 8 bytes of the certificate's hash.
func HashedID8(c *ieee1609.Certificate) (id ieee1609.HashedId8, err error) {
	b, err := tail(c, len(id))
	copy(id[:], b)
	return id, err
}

// HashedID3 is the low-order 3 bytes of the certificate's hash.
func HashedID3(c *ieee1609.Certificate) (id ieee1609.HashedId3, err error) {
	b, err := tail(c, len(id))
	copy(id[:], b)
	return id, err
}

// HashedID10 is the low-order 10 bytes of the certificate's hash, as
// hash-based CRLs list certificates.
func HashedID10(c *ieee1609.Certificate) (id ieee1609.HashedId10, err error) {
	b, err := tail(c, len(id))
	copy(id[:], b)
	return id, err
}

// DataHashedID8 is the low-order 8 bytes of H(data) under the profile, as
// requestHash fields identify requests.
func (p *Profile) DataHashedID8(data []byte) ieee1609.HashedId8 {
	var id ieee1609.HashedId8
	d := p.Hash(data)
	copy(id[:], d[len(d)-8:])
	return id
}
