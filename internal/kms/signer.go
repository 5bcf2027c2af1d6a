package kms

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"errors"
	"io"
	"reflect"

	"github.com/emmansun/gmsm/sm2"
)

// Signer returns a crypto.Signer over the latest version of the sm2 key
// ref (a key name or alias), for code that signs through crypto.Signer,
// such as gmsm's smx509.CreateCertificate and CreateRevocationList. The
// private key never leaves the service: every Sign goes through it, checks
// the key's state and uses that same version.
//
// Sign follows gmsm's conventions. When opts is an *sm2.SM2SignerOption
// with ForceGMSign set (as smx509 passes, sm2.DefaultSM2SignerOpts),
// digest is the whole message and Sign computes e = SM3(Z_A || message)
// with the option's uid. Otherwise digest must be the 32-byte e-value
// itself. Signatures are DER SEQUENCE { r, s }. Sign draws its randomness
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
// a whole message, and for which identity. sm2.SM2SignerOption keeps both
// in unexported fields with no accessor, so they are read by reflection;
// a gmsm release that renames them fails here instead of signing with the
// wrong identity.
func gmSignOptions(opts crypto.SignerOpts) (uid []byte, whole bool, err error) {
	o, ok := opts.(*sm2.SM2SignerOption)
	if !ok || o == nil {
		return nil, false, nil
	}
	v := reflect.ValueOf(o).Elem()
	force, id := v.FieldByName("forceGMSign"), v.FieldByName("uid")
	if force.Kind() != reflect.Bool || id.Kind() != reflect.Slice || id.Type().Elem().Kind() != reflect.Uint8 {
		return nil, false, errors.New("kms: unrecognised sm2.SM2SignerOption layout")
	}
	if !force.Bool() {
		return nil, false, nil
	}
	return bytes.Clone(id.Bytes()), true, nil
}
