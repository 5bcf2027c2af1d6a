package audit

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// signCheckpoint returns an unchained checkpoint record over head and count,
// signed by signer (whose SM2 public key is pub, encoded as pubB64).
func signCheckpoint(rand io.Reader, signer crypto.Signer, pub *ecdsa.PublicKey, pubB64, head string, count uint64, time string) (*Record, error) {
	msg := checkpointMessage(head, count, time)
	sig, err := signer.Sign(rand, msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		return nil, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	if !sm2.VerifyASN1WithSM2(pub, nil, msg, sig) {
		return nil, errors.New("audit: signer produced a checkpoint signature that does not verify")
	}
	return &Record{
		Kind:      KindCheckpoint,
		Time:      time,
		Head:      head,
		Count:     count,
		Signature: base64.StdEncoding.EncodeToString(sig),
		PublicKey: pubB64,
	}, nil
}

// encodePublicKey returns the SM2 public key of signer and its base64 DER
// SubjectPublicKeyInfo.
func encodePublicKey(signer crypto.Signer) (*ecdsa.PublicKey, string, error) {
	if signer == nil {
		return nil, "", errors.New("audit: no signing key")
	}
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(pub) {
		return nil, "", errors.New("audit: signing key is not an SM2 key")
	}
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, "", fmt.Errorf("audit: encode public key: %w", err)
	}
	return pub, base64.StdEncoding.EncodeToString(der), nil
}

// ParsePublicKey parses an SM2 public key as it appears in the public_key
// field of a checkpoint and of a Report: base64 DER SubjectPublicKeyInfo.
func ParsePublicKey(b64 string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("audit: public key: %w", err)
	}
	key, err := smx509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("audit: public key: %w", err)
	}
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(pub) {
		return nil, errors.New("audit: public key is not an SM2 key")
	}
	return pub, nil
}

// checkSignature reports whether cp's signature verifies under pub.
func checkSignature(cp *Record, pub *ecdsa.PublicKey) bool {
	sig, err := base64.StdEncoding.DecodeString(cp.Signature)
	if err != nil {
		return false
	}
	return sm2.VerifyASN1WithSM2(pub, nil, checkpointMessage(cp.Head, cp.Count, cp.Time), sig)
}
