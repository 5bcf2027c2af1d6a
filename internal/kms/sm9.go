package kms

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"github.com/mimacrypto/mima/internal/fault"

	"github.com/mimacrypto/mima/internal/device"
)

// The hooks of the SM9 key generation centre (internal/sm9): master keys
// are keys of type sm9-sign-master or sm9-enc-master, and the user keys it
// keeps for identities ("hosted" keys) are keys of type sm9-sign-user or
// sm9-enc-user, created from the stored form their master's Extract made.
// The device computes; these hooks only find, store and wrap handles.

// SM9Master returns the latest version of the SM9 master key ref, which
// must be enabled, and that version's number.
func (s *Service) SM9Master(ctx context.Context, tenant, ref string) (device.SM9Master, int, error) {
	e, err := s.use(ctx, tenant, ref, tSM9Master, "SM9 key extraction")
	if err != nil {
		return nil, 0, err
	}
	v := len(e.versions)
	return e.versions[v-1].(device.SM9Master), v, nil
}

// SM9MasterPublic returns the DER master public key of version v (0 for
// the latest) of the SM9 master key ref, whatever its state, with the
// key's type and the version.
func (s *Service) SM9MasterPublic(ctx context.Context, tenant, ref string, v int) ([]byte, device.KeyType, int, error) {
	e, err := s.lookup(ctx, tenant, ref)
	if err != nil {
		return nil, "", 0, err
	}
	if typeBit(e.typ)&tSM9Master == 0 {
		return nil, "", 0, typeMismatch(ref, e.typ, "SM9 master public keys")
	}
	if v == 0 {
		v = len(e.versions)
	}
	if v < 0 || v > len(e.versions) {
		return nil, "", 0, fault.Invalid("key %q has no version %d", ref, v)
	}
	return e.versions[v-1].(device.SM9Master).MasterPublicKey(), e.typ, v, nil
}

// SM9User returns the SM9 user key ref (latest version), which must be
// enabled and of type t.
func (s *Service) SM9User(ctx context.Context, tenant, ref string, t device.KeyType) (device.Key, error) {
	e, err := s.use(ctx, tenant, ref, typeBit(t)&tSM9User, "this SM9 operation")
	if err != nil {
		return nil, err
	}
	if e.typ != t {
		return nil, typeMismatch(ref, e.typ, "this SM9 operation")
	}
	return e.versions[len(e.versions)-1], nil
}

// Hold creates key req.Name with one version whose stored form is stored:
// an SM9 user key its master extracted. The name must be unused.
func (s *Service) Hold(ctx context.Context, tenant string, req CreateRequest, stored []byte) (KeyInfo, error) {
	if err := checkTenant(tenant); err != nil {
		return KeyInfo{}, err
	}
	if typeBit(req.Type)&tSM9User == 0 {
		return KeyInfo{}, fault.Invalid("only SM9 user keys are held from an extraction, not %s keys", req.Type)
	}
	if err := req.check(); err != nil {
		return KeyInfo{}, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return KeyInfo{}, err
	}
	now := s.now().UTC()
	r := &record{
		Name: req.Name, Type: req.Type, Description: req.Description, Tags: req.Tags,
		Exportable: req.Exportable, State: Enabled, CreatedAt: now, UpdatedAt: now,
		MinDecryptionVersion: 1, MinEncryptionVersion: 1,
	}
	r.addVersion(stored, now)
	if err := s.saveNew(ctx, st, tenant, r, ""); err != nil {
		return KeyInfo{}, err
	}
	return r.info(), nil
}

// OpenExtracted returns a handle on an extracted SM9 user key of type t,
// given by its stored form, for a single use by its KGC (signing the
// KGC's own lists).
func (s *Service) OpenExtracted(ctx context.Context, t device.KeyType, stored []byte) (device.Key, error) {
	k, err := s.dev.Open(ctx, t, stored)
	if err != nil {
		return nil, deviceErr(err)
	}
	return k, nil
}

// WrapExtracted returns an extracted SM9 user key of type t, given by its
// stored form, SM2-encrypted to pub (GM/T 0009 ASN.1): the envelope a
// terminal opens with its SM2 key.
func (s *Service) WrapExtracted(ctx context.Context, t device.KeyType, stored []byte, pub *ecdsa.PublicKey) ([]byte, error) {
	k, err := s.OpenExtracted(ctx, t, stored)
	if err != nil {
		return nil, err
	}
	w, ok := k.(device.Wrapper)
	if !ok {
		return nil, errDeviceKeepsKey("the extracted key")
	}
	b, err := w.Wrap(ctx, pub, device.SM2ASN1)
	if errors.Is(err, device.ErrNotSupported) {
		return nil, errDeviceKeepsKey("the extracted key")
	}
	if err != nil {
		return nil, deviceErr(err)
	}
	return b, nil
}

// SealExtracted returns an extracted SM9 user key of type t, given by its
// stored form, sealed under password in the format of Backup, whose body
// is the device's backup form of the key (for the Software device, the
// DER SEQUENCE { private point, master public key } of device.SM9SignUser
// and device.SM9EncUser).
func (s *Service) SealExtracted(ctx context.Context, t device.KeyType, stored, password []byte) ([]byte, error) {
	if len(password) < MinBackupPassword || len(password) > MaxBackupPassword {
		return nil, fault.Invalid("the delivery password must be %d to %d bytes", MinBackupPassword, MaxBackupPassword)
	}
	b, err := s.dev.Backup(ctx, t, stored)
	if errors.Is(err, device.ErrNotSupported) {
		return nil, errDeviceKeepsKey("the extracted key")
	}
	if err != nil {
		return nil, deviceErr(err)
	}
	defer clear(b)
	return sealBackup(s.rand, password, s.backupIter, b)
}

// OpenSealed opens a blob made by SealExtracted (or Backup) with password
// and returns its body; a wrong password or a damaged blob is
// backup_invalid.
func OpenSealed(blob, password []byte) ([]byte, error) {
	h, ok := parseBackupHeader(blob)
	if !ok {
		return nil, errBackup
	}
	aead, err := h.aead(password)
	if err != nil {
		return nil, err
	}
	body, err := aead.Open(nil, h.nonce, blob[backupHeader:], blob[:backupHeader])
	if err != nil {
		return nil, errBackup
	}
	return body, nil
}
