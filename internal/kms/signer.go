package kms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"io"

	"github.com/emmansun/gmsm/sm2"

	"github.com/mimacrypto/mima/internal/fault"
)

// Signer returns a crypto.Signer over the latest version of the sm2 key
// ref (a key name or alias), for code that signs through crypto.Signer,
// such as gmsm's smx509.CreateCertificate and CreateRevocationList. The
// private key never leaves the service: every Sign goes through it, checks
// the key's state and uses that same version.
//
// Sign follows gmsm's conventions. When opts is sm2.DefaultSM2SignerOpts
// (as smx509 and pkcs7 pass) or a *MessageOpts, digest is the whole
// message and Sign computes e = SM3(Z_A || message) with the default or
// the option's uid; any other *sm2.SM2SignerOption is refused (gmsm hides
// its fields). Otherwise digest must be the 32-byte e-value itself. Signatures are DER SEQUENCE { r, s }. Sign draws its randomness
// from the service (WithRand), not from its rand argument.
//
// The Signer keeps ctx for the storage reads of Sign, which happen only
// when the key is not cached.
func (s *Service) Signer(ctx context.Context, tenant, ref string) (crypto.Signer, error) {
	e, err := s.use(ctx, tenant, ref, tSM2, "signing")
	if err != nil {
		return nil, err
	}
	v := len(e.versions)
	return &keySigner{s: s, ctx: ctx, tenant: tenant, ref: ref, version: v, pub: e.pubs[v-1]}, nil
}

// MessageOpts asks a Signer for a GB/T 32918.2 signature of a whole
// message under UID (the default identity when UID is empty).
type MessageOpts struct{ UID []byte }

// HashFunc returns 0: the message is passed unhashed.
func (*MessageOpts) HashFunc() crypto.Hash { return 0 }

// keySigner signs with one version of an sm2 key through the service.
type keySigner struct {
	s       *Service
	ctx     context.Context
	tenant  string
	ref     string
	version int
	pub     *ecdsa.PublicKey
}

// Public returns the SM2 public key of the version that signs.
func (k *keySigner) Public() crypto.PublicKey { return k.pub }

// Sign signs digest as described at Service.Signer.
func (k *keySigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	uid, whole, err := gmSignOptions(opts)
	if err != nil {
		return nil, err
	}
	req := SignRequest{Input: digest, Prehashed: !whole, UID: uid, Version: k.version}
	sig, err := k.s.Sign(k.ctx, k.tenant, k.ref, req)
	if err != nil {
		return nil, err
	}
	return sig.Signature, nil
}

// gmSignOptions reports whether opts asks for a GB/T 32918.2 signature of
// a whole message, and for which identity. gmsm keeps both in unexported
// fields of sm2.SM2SignerOption, so the only one of those Sign can read is
// sm2.DefaultSM2SignerOpts (what smx509, pkcs7 and tlcp pass); any other
// is refused rather than signed under a guessed identity. MessageOpts says
// the same with its identity in the open.
func gmSignOptions(opts crypto.SignerOpts) (uid []byte, whole bool, err error) {
	switch o := opts.(type) {
	case *MessageOpts:
		return o.UID, true, nil
	case *sm2.SM2SignerOption:
		if o != sm2.DefaultSM2SignerOpts {
			return nil, false, fault.Invalid("an sm2.SM2SignerOption other than sm2.DefaultSM2SignerOpts cannot be read: pass kms.MessageOpts")
		}
		return nil, true, nil
	}
	return nil, false, nil
}
