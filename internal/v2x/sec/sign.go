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
// the ECDSA signing input, where signer is the canonical COER encoding of
// the signer's certificate, or empty for self-signed data.
func (p *Profile) signingMessage(data, signer []byte) []byte {
	return append(p.Hash(data), p.Hash(signer)...)
}

// sm2UID is ID_A, the user id of Z_A, for SM2 data signed as the holder
// of the certificate whose canonical COER encoding is signer (GB/T
// 45112-2024): SM3(signer), 32 bytes, or SelfSignedID for self-signed
// data (signer nil).
func (p *Profile) sm2UID(signer []byte) []byte {
	if signer == nil {
		return p.SelfSignedID
	}
	return p.Hash(signer)
}

// sm2Digest is Z_A of pub and uid (GB/T 32918.2-2016 5.5) and the e-value
// SM3(Z_A || data) that an SM2 signature over data signs: data is the
// COER encoding itself, not a hash of it (GB/T 45112-2024).
func (p *Profile) sm2Digest(pub *ecdsa.PublicKey, uid, data []byte) (za, e []byte, err error) {
	if len(uid) == 0 {
		return nil, nil, errors.New("an SM2 signer id is empty")
	}
	if za, err = sm2.CalculateZA(pub, uid); err != nil {
		return nil, nil, err
	}
	return za, p.Hash(za, data), nil
}

// Sign signs data (a COER encoding: ToBeSignedData,
// ToBeSignedCertificate or an SCMS request) as the holder of signer (nil:
// self-signed) with key. Under SM2 key signs e = SM3(Z_A || data) with
// ID_A from sm2UID (GB/T 45112-2024); under ECDSA it signs H(H(data) ||
// H(signer)), and r is given x-only.
func (p *Profile) Sign(rand io.Reader, key crypto.Signer, data []byte, signer *ieee1609.Certificate) (ieee1609.Signature, error) {
	signerEnc, err := signerInput(signer)
	if err != nil {
		return ieee1609.Signature{}, err
	}
	var der []byte
	if p.SM() {
		pub, ok := key.Public().(*ecdsa.PublicKey)
		if !ok {
			return ieee1609.Signature{}, errors.New("signing: not an SM2 key")
		}
		var e []byte
		if _, e, err = p.sm2Digest(pub, p.sm2UID(signerEnc), data); err != nil {
			return ieee1609.Signature{}, fmt.Errorf("signing: %w", err)
		}
		der, err = key.Sign(rand, e, crypto.Hash(0))
	} else {
		der, err = key.Sign(rand, p.Hash(p.signingMessage(data, signerEnc)), crypto.SHA256)
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
// self-signed). The signature's form selects SM2 (with the signing input
// of Sign) or ECDSA P-256.
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
		sp := p.sm2Profile()
		return sp.verifySM2(pub, sp.sm2UID(signerEnc), data, sig.Sm2Signature)
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

// verifySM2 checks an SM2 signature over data by pub with ID_A uid.
func (p *Profile) verifySM2(pub *ecdsa.PublicKey, uid, data []byte, sig *ieee1609.EcsigP256Signature) error {
	der, err := derSignature(sig.RSig[:], sig.SSig[:])
	if err != nil {
		return err
	}
	_, e, err := p.sm2Digest(pub, uid, data)
	if err != nil {
		return err
	}
	if !sm2.VerifyASN1(pub, e, der) {
		return ErrBadSignature
	}
	return nil
}

// sm2Profile is the profile whose SM2 settings verify SM2 signatures: p,
// or CN for a profile that does not sign with SM2.
func (p *Profile) sm2Profile() *Profile {
	if p.SM() {
		return p
	}
	return CN
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
