package kms

import (
	"context"
	"crypto"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

// maxUID is the longest SM2 user identity: its bit length must fit the
// 16-bit ENTL field of Z_A.
const maxUID = 8191

// SignRequest is one SM2 signature.
//
// Without Prehashed, Input is the message and the service computes
// e = SM3(Z_A || Input), where Z_A = SM3(ENTL || UID || a || b || x_G ||
// y_G || x_A || y_A) binds the signer's identity UID (default
// "1234567812345678") and public key (GB/T 32918.2-2016 section 5.5).
//
// With Prehashed, Input is that 32-byte e itself, computed by the caller
// over Z_A for the key version that signs (see PublicKey); UID must then be
// empty. This is the e-value of GM/T 0009 ("SM3 hash with preprocessing"),
// not SM3 of the bare message.
type SignRequest struct {
	Input     []byte
	Prehashed bool
	UID       []byte
	// Version to sign with; 0 for the latest.
	Version int
}

// Signature is a DER-encoded SM2 signature SEQUENCE { r INTEGER, s INTEGER }
// and the key version that made it.
type Signature struct {
	Signature []byte `json:"signature"`
	Version   int    `json:"version"`
}

// VerifyRequest is one SM2 signature check; Input, Prehashed and UID are as
// in SignRequest.
type VerifyRequest struct {
	Input     []byte
	Signature []byte
	Prehashed bool
	UID       []byte
	// Version that signed; 0 to try every version from the minimum
	// decryption version up, newest first.
	Version int
}

// Verdict is the answer to a signature check: whether it is valid and the
// key version whose public key verified it (0 when none did).
type Verdict struct {
	Valid   bool
	Version int
}

// PublicKey is the public key of one version of an sm2 key: an
// *ecdsa.PublicKey on the SM2 curve. The API edge encodes it (PEM
// SubjectPublicKeyInfo); the services use it as it is.
type PublicKey struct {
	Key     crypto.PublicKey
	Version int
}

// Sign signs with an sm2 key (SM2 with SM3).
func (s *Service) Sign(ctx context.Context, tenant, key string, req SignRequest) (Signature, error) {
	e, err := s.use(ctx, tenant, key, tSM2, "signing")
	if err != nil {
		return Signature{}, err
	}
	return s.sign(ctx, e, key, req)
}

// SignBatch is Sign for many items under one key.
func (s *Service) SignBatch(ctx context.Context, tenant, key string, items []SignRequest) ([]Result[Signature], error) {
	return runBatch(ctx, s, tenant, key, tSM2, "signing", items, s.sign)
}

// Verify reports whether a signature is valid and which version made it.
// Signatures are plain DER and name no version, so without req.Version
// every version a verification may use is tried, newest first: rotating a
// key never turns a genuine signature invalid. A malformed signature is
// simply not valid.
func (s *Service) Verify(ctx context.Context, tenant, key string, req VerifyRequest) (Verdict, error) {
	e, err := s.use(ctx, tenant, key, tSM2, "verification")
	if err != nil {
		return Verdict{}, err
	}
	return s.verify(ctx, e, key, req)
}

// VerifyBatch is Verify for many items under one key.
func (s *Service) VerifyBatch(ctx context.Context, tenant, key string, items []VerifyRequest) ([]Result[Verdict], error) {
	return runBatch(ctx, s, tenant, key, tSM2, "verification", items, s.verify)
}

// PublicKey returns the public key of a version (0 for the latest) of an
// sm2 key, whatever the key's state.
func (s *Service) PublicKey(ctx context.Context, tenant, key string, version int) (PublicKey, error) {
	e, err := s.lookup(ctx, tenant, key)
	if err != nil {
		return PublicKey{}, err
	}
	if e.typ != device.SM2 {
		return PublicKey{}, typeMismatch(key, e.typ, "public keys")
	}
	if version == 0 {
		version = len(e.versions)
	}
	if version < 0 || version > len(e.versions) {
		return PublicKey{}, fault.Invalid("key %q has no version %d", key, version)
	}
	return PublicKey{Key: e.pubs[version-1], Version: version}, nil
}

func (s *Service) sign(ctx context.Context, e *entry, ref string, req SignRequest) (Signature, error) {
	v, err := e.encryptVersion(ref, req.Version)
	if err != nil {
		return Signature{}, err
	}
	digest, err := e.digest(v, req.Input, req.Prehashed, req.UID)
	if err != nil {
		return Signature{}, err
	}
	sig, err := e.versions[v-1].(device.Signer).Sign(ctx, digest)
	if err != nil {
		return Signature{}, deviceErr(err)
	}
	return Signature{Signature: sig, Version: v}, nil
}

func (s *Service) verify(_ context.Context, e *entry, ref string, req VerifyRequest) (Verdict, error) {
	newest, err := e.verifyVersion(ref, req.Version)
	if err != nil {
		return Verdict{}, err
	}
	oldest := newest
	if req.Version == 0 {
		oldest = e.minDec
	}
	for v := newest; v >= oldest; v-- {
		digest, err := e.digest(v, req.Input, req.Prehashed, req.UID)
		if err != nil {
			return Verdict{}, err
		}
		if device.VerifySM2(e.pubs[v-1], digest, req.Signature) {
			return Verdict{Valid: true, Version: v}, nil
		}
	}
	return Verdict{}, nil
}

// digest returns the e-value to sign or verify for version v.
func (e *entry) digest(v int, input []byte, prehashed bool, uid []byte) ([]byte, error) {
	if prehashed {
		if len(uid) > 0 {
			return nil, fault.Invalid("a prehashed input already includes the uid; omit the uid")
		}
		if len(input) != 32 {
			return nil, fault.Invalid("a prehashed input must be the 32-byte SM3 e-value, not %d bytes", len(input))
		}
		return input, nil
	}
	if len(uid) > maxUID {
		return nil, fault.Invalid("the uid is at most %d bytes", maxUID)
	}
	d, err := device.SM2Digest(e.pubs[v-1], uid, input)
	if err != nil {
		return nil, deviceErr(err)
	}
	return d, nil
}
