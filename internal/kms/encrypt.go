package kms

import (
	"context"
	"sync"

	"github.com/emmansun/gmsm/sm2"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

// SM2Format selects the form of an SM2 ciphertext payload.
type SM2Format string

// SM2 ciphertext forms.
const (
	// SM2ASN1 is the GM/T 0009 ASN.1 form, the default.
	SM2ASN1 SM2Format = "asn1"
	// SM2C1C3C2 is the raw C1 || C3 || C2 form with an uncompressed C1.
	SM2C1C3C2 SM2Format = "c1c3c2"
)

// EncryptRequest is one encryption.
type EncryptRequest struct {
	Plaintext []byte
	// AAD is additional authenticated data (sm4 keys only); Decrypt needs
	// the same.
	AAD []byte
	// Version to encrypt with; 0 for the latest.
	Version int
	// Derivation, for derived keys, encrypts under the derived key; without
	// it the key version itself is used.
	Derivation *Derivation
	// SM2Format selects the payload form for sm2 keys; "" is SM2ASN1.
	SM2Format SM2Format
}

// DecryptRequest is one decryption.
type DecryptRequest struct {
	Ciphertext string
	AAD        []byte
	Derivation *Derivation
}

// ReEncryptRequest moves a ciphertext from one key (or version) to another
// without returning the plaintext.
type ReEncryptRequest struct {
	Ciphertext string
	// AAD opens the ciphertext; ToAAD is bound to the new one.
	AAD   []byte
	ToAAD []byte
	// FromDerivation and ToDerivation select derived keys on either side.
	FromDerivation *Derivation
	ToDerivation   *Derivation
	// ToVersion of the destination key; 0 for the latest.
	ToVersion int
	SM2Format SM2Format
}

// Encrypt encrypts under an sm4 key (SM4-GCM) or an sm2 key (SM2 public-key
// encryption) and returns a ciphertext "mima:v<N>:<base64>" as described
// in the package documentation.
func (s *Service) Encrypt(ctx context.Context, tenant, key string, req EncryptRequest) (string, error) {
	e, err := s.use(ctx, tenant, key, tSM4|tSM2, "encryption")
	if err != nil {
		return "", err
	}
	return s.encrypt(ctx, e, key, req)
}

// EncryptBatch is Encrypt for many items under one key.
func (s *Service) EncryptBatch(ctx context.Context, tenant, key string, items []EncryptRequest) ([]Result[string], error) {
	return runBatch(ctx, s, tenant, key, tSM4|tSM2, "encryption", items, s.encrypt)
}

// Decrypt decrypts a ciphertext made by Encrypt with the same key. Any
// ciphertext that does not decrypt (tampered, garbled, from another key or
// of an unknown version) is decrypt_failed without detail; a version below
// the key's minimum decryption version is key_version_below_minimum.
func (s *Service) Decrypt(ctx context.Context, tenant, key string, req DecryptRequest) ([]byte, error) {
	e, err := s.use(ctx, tenant, key, tSM4|tSM2, "decryption")
	if err != nil {
		return nil, err
	}
	return s.decrypt(ctx, e, key, req)
}

// DecryptBatch is Decrypt for many items under one key.
func (s *Service) DecryptBatch(ctx context.Context, tenant, key string, items []DecryptRequest) ([]Result[[]byte], error) {
	return runBatch(ctx, s, tenant, key, tSM4|tSM2, "decryption", items, s.decrypt)
}

// ReEncrypt decrypts with key from and encrypts the plaintext with key to
// ("" for the same key, e.g. to move to its latest version) inside the
// service.
func (s *Service) ReEncrypt(ctx context.Context, tenant, from, to string, req ReEncryptRequest) (string, error) {
	src, dst, to, err := s.reEncryptKeys(ctx, tenant, from, to)
	if err != nil {
		return "", err
	}
	return s.reEncrypt(ctx, src, from, dst, to, req)
}

// ReEncryptBatch is ReEncrypt for many items between the same keys.
func (s *Service) ReEncryptBatch(ctx context.Context, tenant, from, to string, items []ReEncryptRequest) ([]Result[string], error) {
	if err := CheckBatch(len(items)); err != nil {
		return nil, err
	}
	src, dst, to, err := s.reEncryptKeys(ctx, tenant, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]Result[string], len(items))
	for i, it := range items {
		out[i].Value, out[i].Err = s.reEncrypt(ctx, src, from, dst, to, it)
	}
	return out, nil
}

func (s *Service) reEncryptKeys(ctx context.Context, tenant, from, to string) (*entry, *entry, string, error) {
	src, err := s.use(ctx, tenant, from, tSM4|tSM2, "decryption")
	if err != nil {
		return nil, nil, "", err
	}
	if to == "" {
		return src, src, from, nil
	}
	dst, err := s.use(ctx, tenant, to, tSM4|tSM2, "encryption")
	return src, dst, to, err
}

func (s *Service) reEncrypt(ctx context.Context, src *entry, from string, dst *entry, to string, req ReEncryptRequest) (string, error) {
	pt, err := s.decrypt(ctx, src, from, DecryptRequest{Ciphertext: req.Ciphertext, AAD: req.AAD, Derivation: req.FromDerivation})
	if err != nil {
		return "", err
	}
	defer clear(pt)
	return s.encrypt(ctx, dst, to, EncryptRequest{Plaintext: pt, AAD: req.ToAAD, Version: req.ToVersion, Derivation: req.ToDerivation, SM2Format: req.SM2Format})
}

func (s *Service) encrypt(ctx context.Context, e *entry, ref string, req EncryptRequest) (string, error) {
	v, err := e.encryptVersion(ref, req.Version)
	if err != nil {
		return "", err
	}
	if e.typ == device.SM2 {
		return s.encryptSM2(e, v, req)
	}
	if req.SM2Format != "" {
		return "", fault.Invalid("an SM2 ciphertext format applies to sm2 keys only")
	}
	k, err := s.keyFor(ctx, e, ref, v, req.Derivation)
	if err != nil {
		return "", err
	}
	e2, v2, err := s.spend(ctx, e, ref, v, req.Version == 0)
	if err != nil {
		return "", err
	}
	if v2 != v { // the key rotated
		if k, err = s.keyFor(ctx, e2, ref, v2, req.Derivation); err != nil {
			return "", err
		}
	}
	return s.sealSM4(ctx, k, v2, req.Plaintext, req.AAD)
}

// payloadPool recycles the scratch buffers that hold an SM4-GCM payload
// while it is base64 encoded.
var payloadPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// sealSM4 encrypts with an SM4 key and formats the ciphertext of version v;
// the caller has spent a nonce of v.
func (s *Service) sealSM4(ctx context.Context, k device.Key, v int, plaintext, aad []byte) (string, error) {
	bp := payloadPool.Get().(*[]byte)
	defer payloadPool.Put(bp)
	payload, err := k.(device.AEAD).Seal(ctx, (*bp)[:0], s.rand, plaintext, aad)
	if err != nil {
		return "", deviceErr(err)
	}
	if cap(payload) <= 64<<10 {
		*bp = payload
	}
	return formatCiphertext(v, payload), nil
}

func (s *Service) encryptSM2(e *entry, v int, req EncryptRequest) (string, error) {
	if len(req.AAD) > 0 || req.Derivation != nil {
		return "", fault.Invalid("sm2 keys take no aad and no derivation")
	}
	if len(req.Plaintext) == 0 {
		return "", fault.Invalid("SM2 encryption needs a non-empty plaintext")
	}
	var (
		payload []byte
		err     error
	)
	switch req.SM2Format {
	case "", SM2ASN1:
		payload, err = sm2.EncryptASN1(s.rand, e.pubs[v-1], req.Plaintext)
	case SM2C1C3C2:
		payload, err = sm2.Encrypt(s.rand, e.pubs[v-1], req.Plaintext, sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2))
	default:
		return "", fault.Invalid("unknown SM2 ciphertext format %q; use %q or %q", req.SM2Format, SM2ASN1, SM2C1C3C2)
	}
	if err != nil {
		return "", deviceErr(err)
	}
	return formatCiphertext(v, payload), nil
}

func (s *Service) decrypt(ctx context.Context, e *entry, ref string, req DecryptRequest) ([]byte, error) {
	v, payload, ok := parseCiphertext(req.Ciphertext)
	if !ok || v > len(e.versions) {
		return nil, errDecrypt
	}
	if v < e.minDec {
		return nil, keyVersionTooOld(ref, v, e.minDec)
	}
	if e.typ == device.SM2 {
		if len(req.AAD) > 0 || req.Derivation != nil {
			return nil, fault.Invalid("sm2 keys take no aad and no derivation")
		}
		pt, err := e.versions[v-1].(device.Decrypter).Decrypt(ctx, payload)
		if err != nil {
			return nil, errDecrypt
		}
		return pt, nil
	}
	k, err := s.keyFor(ctx, e, ref, v, req.Derivation)
	if err != nil {
		return nil, err
	}
	pt, err := k.(device.AEAD).Open(ctx, nil, payload, req.AAD)
	if err != nil {
		return nil, errDecrypt
	}
	return pt, nil
}
