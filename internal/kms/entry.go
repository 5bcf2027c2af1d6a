package kms

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// entry is a cached key: what the crypto operations need, with every
// version opened on the device. It is immutable, but for the links to
// nonce budgets it makes on first use; a change to the key replaces it.
type entry struct {
	typ      device.KeyType
	state    State
	derived  bool
	minDec   int
	minEnc   int
	versions []device.Key       // versions[i] is version i+1
	pubs     []*ecdsa.PublicKey // sm2 keys: public key of each version
	// sm4 keys: the key's name and the nonce budget of each version
	tenant, name string
	budgets      []atomic.Pointer[budget]
}

// typeSet is a set of key types an operation accepts.
type typeSet uint8

const (
	tSM4 typeSet = 1 << iota
	tSM2
	tHMAC
	tSM9SignMaster
	tSM9EncMaster
	tSM9SignUser
	tSM9EncUser
	tZUC

	tSM9Master = tSM9SignMaster | tSM9EncMaster
	tSM9User   = tSM9SignUser | tSM9EncUser
)

func typeBit(t device.KeyType) typeSet {
	switch t {
	case device.SM4:
		return tSM4
	case device.SM2:
		return tSM2
	case device.HMACSM3:
		return tHMAC
	case device.SM9SignMaster:
		return tSM9SignMaster
	case device.SM9EncMaster:
		return tSM9EncMaster
	case device.SM9SignUser:
		return tSM9SignUser
	case device.SM9EncUser:
		return tSM9EncUser
	case device.ZUC128, device.ZUC256:
		return tZUC
	}
	return 0
}

// open builds the cache entry of r, opening every version on the device.
func (s *Service) open(ctx context.Context, r *record) (*entry, error) {
	e := &entry{
		typ: r.Type, state: r.State, derived: r.Derived,
		minDec: r.MinDecryptionVersion, minEnc: r.MinEncryptionVersion,
		versions: make([]device.Key, len(r.Versions)),
	}
	for i, v := range r.Versions {
		k, err := s.dev.Open(ctx, r.Type, v.Material)
		if err != nil {
			return nil, deviceErr(fmt.Errorf("kms: opening %s version %d: %w", r.Name, v.Version, err))
		}
		e.versions[i] = k
		if signer, ok := k.(device.Signer); ok {
			e.pubs = append(e.pubs, signer.Public())
		}
	}
	return e, nil
}

// lookup returns the cached key ref (a key name or alias) of tenant,
// loading it on a miss.
func (s *Service) lookup(ctx context.Context, tenant, ref string) (*entry, error) {
	if _, err := s.store.Backend(); err != nil {
		return nil, err
	}
	name := ref
	if alias, ok := cutAlias(ref); ok {
		var err error
		if name, err = s.resolveAlias(ctx, tenant, alias, ref); err != nil {
			return nil, err
		}
	}
	if e, ok := s.keys.Get(paths.Key{Tenant: tenant, Name: name}); ok {
		return e, nil
	}
	return s.load(ctx, tenant, name, ref)
}

// use returns the key ref if it is enabled and of a type in types; op
// names the operation in errors.
func (s *Service) use(ctx context.Context, tenant, ref string, types typeSet, op string) (*entry, error) {
	e, err := s.lookup(ctx, tenant, ref)
	if err != nil {
		return nil, err
	}
	if typeBit(e.typ)&types == 0 {
		return nil, typeMismatch(ref, e.typ, op)
	}
	if err := usable(ref, e.state); err != nil {
		return nil, err
	}
	return e, nil
}

// load reads and opens a key and caches it.
func (s *Service) load(ctx context.Context, tenant, name, ref string) (*entry, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	gen := s.keys.Generation() // before the seal check: see cache
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	r, err := loadRecord(ctx, st, tenant, name, ref)
	if err != nil {
		return nil, err
	}
	defer r.wipe()
	e, err := s.open(ctx, r)
	if err != nil {
		return nil, err
	}
	if r.Type == device.SM4 {
		e.tenant, e.name = tenant, name
		e.budgets = make([]atomic.Pointer[budget], len(r.Versions))
	}
	s.keys.Add(paths.Key{Tenant: tenant, Name: name}, e, gen)
	return e, nil
}

// resolveAlias returns the key name an alias points to.
func (s *Service) resolveAlias(ctx context.Context, tenant, alias, ref string) (string, error) {
	if name, ok := s.aliases.Get(paths.Alias{Tenant: tenant, Name: alias}); ok {
		return name, nil
	}
	if err := checkTenant(tenant); err != nil {
		return "", err
	}
	if !ValidName(alias) {
		return "", errKeyNotFound(ref)
	}
	gen := s.aliases.Generation()
	st, err := s.store.Backend()
	if err != nil {
		return "", err
	}
	a, err := loadAlias(ctx, st, tenant, alias)
	if errors.Is(err, storage.ErrNotFound) {
		return "", errKeyNotFound(ref)
	}
	if err != nil {
		return "", err
	}
	s.aliases.Add(paths.Alias{Tenant: tenant, Name: alias}, a.Target, gen)
	return a.Target, nil
}

// loadAlias reads an alias record; an absent alias is storage.ErrNotFound.
func loadAlias(ctx context.Context, st storage.Backend, tenant, alias string) (*aliasRecord, error) {
	b, err := st.Get(ctx, paths.Alias{Tenant: tenant, Name: alias}.String())
	if errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, fault.Storage(err)
	}
	var a aliasRecord
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("kms: alias record %s/%s is corrupt: %w", tenant, alias, err)
	}
	return &a, nil
}

// encryptVersion returns the version to encrypt, sign or MAC with: the
// latest when v is 0, else v, which must be at least the minimum
// encryption version.
func (e *entry) encryptVersion(ref string, v int) (int, error) {
	switch {
	case v == 0:
		return len(e.versions), nil
	case v < 0 || v > len(e.versions):
		return 0, fault.Invalid("key %q has no version %d", ref, v)
	case v < e.minEnc:
		return 0, fault.New(fault.KeyVersionTooOld, "version %d of key %q is below its minimum encryption version %d", v, ref, e.minEnc)
	}
	return v, nil
}

// verifyVersion returns the version to verify with: the latest when v is 0,
// else v, which must be at least the minimum decryption version.
func (e *entry) verifyVersion(ref string, v int) (int, error) {
	switch {
	case v == 0:
		return len(e.versions), nil
	case v < 0 || v > len(e.versions):
		return 0, fault.Invalid("key %q has no version %d", ref, v)
	case v < e.minDec:
		return 0, keyVersionTooOld(ref, v, e.minDec)
	}
	return v, nil
}
