package pki

import (
	"crypto/ecdsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// keyID is the subject key identifier of pub: the leftmost 160 bits of the
// SM3 hash of the subjectPublicKey BIT STRING value, as RFC 7093 section 2
// method 1 does with SHA-256.
func keyID(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	bits, err := subjectPublicKey(der)
	if err != nil {
		return nil, err
	}
	sum := sm3.Sum(bits)
	return sum[:20], nil
}

// subjectPublicKey returns the subjectPublicKey bits of a DER
// SubjectPublicKeyInfo.
func subjectPublicKey(spki []byte) ([]byte, error) {
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if rest, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil, err
	} else if len(rest) > 0 {
		return nil, errors.New("pki: trailing data after a SubjectPublicKeyInfo")
	}
	return info.PublicKey.RightAlign(), nil
}
