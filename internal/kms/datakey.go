package kms

import (
	"context"
	"encoding/pem"
	"io"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

// DataKeyKind is the kind of data key to generate.
type DataKeyKind string

// Data key kinds.
const (
	DataKeySM4 DataKeyKind = "sm4"
	DataKeySM2 DataKeyKind = "sm2"
)

// DataKeyRequest asks for a fresh data key wrapped under a key of the
// service (sm4 or sm2).
type DataKeyRequest struct {
	Kind DataKeyKind
	// WithPlaintext returns the data key itself besides the wrapped one.
	WithPlaintext bool
	// Version, AAD, Derivation and SM2Format apply to the wrapping, as in
	// EncryptRequest.
	Version    int
	AAD        []byte
	Derivation *Derivation
	SM2Format  SM2Format
}

// DataKey is a fresh data key.
//
// For kind sm4, Plaintext is a 16-byte SM4 key. To use it locally with
// SM4-GCM, draw a random 12-byte nonce for every message and keep
// nonce || ciphertext || 16-byte tag, optionally with AAD: the layout of
// the payload of mima's own ciphertexts. Wrapped is the key encrypted with
// Encrypt's format; Decrypt with the same key (and AAD) returns Plaintext,
// so an application stores only Wrapped next to its data.
//
// For kind sm2, Plaintext is the private key in PKCS#8 DER (as read by
// "openssl pkey -inform DER"), Wrapped is that DER encrypted the same way,
// and PublicKey is the PEM SubjectPublicKeyInfo.
type DataKey struct {
	Plaintext []byte `json:"plaintext,omitempty"`
	Wrapped   string `json:"wrapped"`
	PublicKey string `json:"public_key,omitempty"`
}

// DataKey generates a data key and wraps it under key.
func (s *Service) DataKey(ctx context.Context, tenant, key string, req DataKeyRequest) (DataKey, error) {
	e, err := s.use(ctx, tenant, key, tSM4|tSM2, "encryption")
	if err != nil {
		return DataKey{}, err
	}
	return s.dataKey(ctx, e, key, req)
}

// DataKeyBatch is DataKey for many items under one key.
func (s *Service) DataKeyBatch(ctx context.Context, tenant, key string, items []DataKeyRequest) ([]Result[DataKey], error) {
	return runBatch(ctx, s, tenant, key, tSM4|tSM2, "encryption", items, s.dataKey)
}

func (s *Service) dataKey(ctx context.Context, e *entry, ref string, req DataKeyRequest) (DataKey, error) {
	var (
		out DataKey
		pt  []byte
	)
	switch req.Kind {
	case DataKeySM4:
		pt = make([]byte, device.SM4KeySize)
		if _, err := io.ReadFull(s.rand, pt); err != nil {
			return DataKey{}, deviceErr(err)
		}
	case DataKeySM2:
		priv, err := sm2.GenerateKey(s.rand)
		if err != nil {
			return DataKey{}, deviceErr(err)
		}
		if pt, err = smx509.MarshalPKCS8PrivateKey(priv); err != nil {
			return DataKey{}, deviceErr(err)
		}
		der, err := smx509.MarshalPKIXPublicKey(&priv.PublicKey)
		if err != nil {
			return DataKey{}, deviceErr(err)
		}
		out.PublicKey = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	default:
		return DataKey{}, fault.Invalid("unknown data key kind %q; use %q or %q", req.Kind, DataKeySM4, DataKeySM2)
	}
	wrapped, err := s.encrypt(ctx, e, ref, EncryptRequest{Plaintext: pt, AAD: req.AAD, Version: req.Version, Derivation: req.Derivation, SM2Format: req.SM2Format})
	if err != nil {
		clear(pt)
		return DataKey{}, err
	}
	out.Wrapped = wrapped
	if req.WithPlaintext {
		out.Plaintext = pt
	} else {
		clear(pt)
	}
	return out, nil
}
