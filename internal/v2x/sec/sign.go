package sec

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/emmansun/gmsm/sm2"

	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
)

// signingMessage is H(data) || H(signer) (IEEE 1609.2-2022 5.3.1.2.2),
// where signer is the canonical COER encoding of the signer's
// certificate, or empty for self-signed data.
func (p *Profile) signingMessage(data, signer []byte) []byte {
	return append(p.Hash(data), p.Hash(signer)...)
}

// Sign signs data (a COER encoding: ToBeSignedData or
// ToBeSignedCertificate) as the holder of signer (nil: self-signed) with
// key. Under SM2 key signs M = H(data) || H(signer) with the profile's Z_A;
// under ECDSA it signs H(M), and r is given x-only.
func (p *Profile) Sign(rand io.Reader, key crypto.Signer, data []byte, signer *ieee1609.Certificate) (ieee1609.Signature, error) {
	signerEnc, err := signerInput(signer)
	if err != nil {
		return ieee1609.Signature{}, err
	}
	m := p.signingMessage(data, signerEnc)
	var der []byte
	if p.SM() {
		der, err = key.Sign(rand, m, sm2.NewSM2SignerOption(true, p.SignerID))
	} else {
		der, err = key.Sign(rand, p.Hash(m), crypto.SHA256)
	}
	if err != nil {
		return ieee1609.Signature{}, fmt.Errorf("signing: %w", err)
	}
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		return ieee1609.Signature{}, fmt.Errorf("signing: %w", err)
	}
	var r, s [32]byte
	rs.R.FillBytes(r[:])
	rs.S.FillBytes(s[:])
	if p.SM() {
		return ieee1609.Signature{Sm2Signature: &ieee1609.EcsigP256Signature{RSig: r, SSig: s}}, nil
	}
	return ieee1609.Signature{EcdsaNistP256Signature: &ieee1609.EcdsaP256Signature{RSig: ieee1609.EccP256CurvePoint{XOnly: &r}, SSig: s}}, nil
}

// ErrBadSignature means a signature did not verify.
var ErrBadSignature = errors.New("the signature does not verify")

// Verify checks sig over data as signed by pub, the key of signer (nil:
// self-signed). The signature's form selects SM2 (with the profile's Z_A
// id) or ECDSA P-256.
func (p *Profile) Verify(pub *ecdsa.PublicKey, data []byte, signer *ieee1609.Certificate, sig ieee1609.Signature) error {
	signerEnc, err := signerInput(signer)
	if err != nil {
		return err
	}
	switch {
	case sig.Sm2Signature != nil:
		if !CN.curveOf(pub) {
			return errors.New("an SM2 signature needs an SM2 key")
		}
		der, err := derSignature(sig.Sm2Signature.RSig[:], sig.Sm2Signature.SSig[:])
		if err != nil {
			return err
		}
		m := CN.signingMessage(data, signerEnc)
		if !sm2.VerifyASN1WithSM2(pub, p.sm2ID(), m, der) {
			return ErrBadSignature
		}
	case sig.EcdsaNistP256Signature != nil:
		if !IEEE.curveOf(pub) {
			return errors.New("an ECDSA P-256 signature needs a P-256 key")
		}
		r := xOnly(sig.EcdsaNistP256Signature.RSig)
		if r.XOnly == nil {
			return errors.New("the signature's r is not a point")
		}
		m := IEEE.signingMessage(data, signerEnc)
		if !ecdsa.Verify(pub, IEEE.Hash(m), new(big.Int).SetBytes(r.XOnly[:]), new(big.Int).SetBytes(sig.EcdsaNistP256Signature.SSig[:])) {
			return ErrBadSignature
		}
	default:
		return errors.New("unsupported signature algorithm")
	}
	return nil
}

// sm2ID is the Z_A id for SM2 verification: the profile's, or CN's for a
// profile without one.
func (p *Profile) sm2ID() []byte {
	if len(p.SignerID) > 0 {
		return p.SignerID
	}
	return CN.SignerID
}

func (p *Profile) curveOf(pub *ecdsa.PublicKey) bool { return pub.Curve == p.Curve }

// signerInput is the canonical encoding of the signer's certificate, or
// nothing for self-signed data.
func signerInput(signer *ieee1609.Certificate) ([]byte, error) {
	if signer == nil {
		return nil, nil
	}
	return CanonicalCert(signer)
}

func derSignature(r, s []byte) ([]byte, error) {
	return asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)})
}
