package kms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"io"

	"github.com/mimacrypto/mima/internal/device"
)

// Decrypter returns a crypto.Decrypter over the sm2 key ref (a key name or
// alias), for code that decrypts through crypto.Decrypter, such as the
// recipient side of a CMS digital envelope. The private key never leaves
// the service: every Decrypt goes through it and checks the key's state.
//
// Decrypt takes an SM2 ciphertext (GB/T 32918.4) in GM/T 0009 ASN.1 form
// or as raw C1 || C3 || C2 with an uncompressed C1; its rand and opts are
// ignored. Such a ciphertext names no key version, so Decrypt tries the
// versions from the latest down to the key's minimum decryption version:
// the ciphertext's SM3 check value (C3) tells the one that opens it. Any
// failure is decrypt_failed without detail. Public returns the public key
// of the latest version.
//
// The Decrypter keeps ctx for the storage reads of Decrypt, which happen
// only when the key is not cached.
func (s *Service) Decrypter(ctx context.Context, tenant, ref string) (crypto.Decrypter, error) {
	e, err := s.use(ctx, tenant, ref, tSM2, "decryption")
	if err != nil {
		return nil, err
	}
	return &keyDecrypter{s: s, ctx: ctx, tenant: tenant, ref: ref, pub: e.pubs[len(e.pubs)-1]}, nil
}

// keyDecrypter decrypts with the versions of an sm2 key through the
// service.
type keyDecrypter struct {
	s      *Service
	ctx    context.Context
	tenant string
	ref    string
	pub    *ecdsa.PublicKey
}

// Public returns the SM2 public key of the latest version when the
// Decrypter was made.
func (k *keyDecrypter) Public() crypto.PublicKey { return k.pub }

// Decrypt decrypts msg as described at Service.Decrypter.
func (k *keyDecrypter) Decrypt(_ io.Reader, msg []byte, _ crypto.DecrypterOpts) ([]byte, error) {
	e, err := k.s.use(k.ctx, k.tenant, k.ref, tSM2, "decryption")
	if err != nil {
		return nil, err
	}
	for v := len(e.versions); v >= e.minDec; v-- {
		if pt, err := e.versions[v-1].(device.Decrypter).Decrypt(k.ctx, msg); err == nil {
			return pt, nil
		}
	}
	return nil, errDecrypt
}
