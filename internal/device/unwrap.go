package device

import (
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
)

// envelopedBytes is the size of the SM4-ECB encrypted SM2 scalar in an
// enveloped key.
const envelopedBytes = 32

// Unwrap opens wrapped key material of type t with wk, an SM2 key of this
// device, checks it against the rules of t and returns its stored form,
// the raw key.
func (s *Software) Unwrap(_ context.Context, wk Key, t KeyType, wrapped []byte) ([]byte, error) {
	k, ok := wk.(*sm2Key)
	if !ok {
		return nil, fmt.Errorf("%w: the wrapping key must be an SM2 key of this device", ErrNotSupported)
	}
	var raw []byte
	switch t {
	case SM2:
		return unwrapEnveloped(k.priv, wrapped)
	case SM4, HMACSM3, SM9SignMaster, SM9EncMaster, SM9SignUser, SM9EncUser, ZUC128, ZUC256:
		var err error
		if raw, err = sm2.Decrypt(k.priv, wrapped); err != nil {
			return nil, ErrUnwrap
		}
	default:
		return nil, unsupported(t)
	}
	if _, err := s.open(t, raw); err != nil {
		clear(raw)
		return nil, err
	}
	return raw, nil
}

// unwrapEnveloped opens a GB/T 35276 SM2 enveloped private key. It checks
// the structure first: sm2.ParseEnvelopedPrivateKey requires the encrypted
// scalar to be whole SM4 blocks.
func unwrapEnveloped(wk *sm2.PrivateKey, env []byte) ([]byte, error) {
	symKey, ok := checkEnvelope(env)
	if !ok {
		return nil, &MaterialError{fmt.Sprintf("sm2 key material must be a GB/T 35276 SM2EnvelopedKey (DER) with algorithm SM4 or SM4-ECB and a %d-byte encrypted private key", envelopedBytes)}
	}
	priv, err := sm2.ParseEnvelopedPrivateKey(wk, env)
	if err != nil {
		// Tell a foreign wrapping key from a bad private key.
		k, derr := sm2.Decrypt(wk, symKey)
		clear(k)
		if derr != nil {
			return nil, ErrUnwrap
		}
		return nil, &MaterialError{"the enveloped SM2 private key must be a scalar in [1, n-2] matching the envelope's public key, encrypted with a 16-byte SM4 key"}
	}
	return priv.D.FillBytes(make([]byte, SM2KeySize)), nil
}

// checkEnvelope reports whether env has the shape of an SM2EnvelopedKey
// with a 32-byte encrypted private key, and returns its symEncryptedKey.
func checkEnvelope(env []byte) ([]byte, bool) {
	var e struct {
		SymAlgID               pkix.AlgorithmIdentifier
		SymEncryptedKey        asn1.RawValue
		SM2PublicKey           asn1.BitString
		SM2EncryptedPrivateKey asn1.BitString
	}
	rest, err := asn1.Unmarshal(env, &e)
	if err != nil || len(rest) > 0 || e.SymEncryptedKey.Tag != asn1.TagSequence ||
		!(e.SymAlgID.Algorithm.Equal(oidSM4) || e.SymAlgID.Algorithm.Equal(oidSM4ECB)) {
		return nil, false
	}
	return e.SymEncryptedKey.FullBytes, e.SM2EncryptedPrivateKey.BitLength == 8*envelopedBytes
}

// The symmetric algorithms of an SM2EnvelopedKey: SM4, and SM4 in ECB mode.
var (
	oidSM4    = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 104}
	oidSM4ECB = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 104, 1}
)
