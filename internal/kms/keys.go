package kms

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// Limits on key metadata.
const (
	maxDescription = 1024
	maxTags        = 50
	maxTagKey      = 128
	maxTagValue    = 256
	// MinAutoRotatePeriod is the shortest automatic rotation period.
	MinAutoRotatePeriod = time.Hour
)

// Deletion waiting periods, in days.
const (
	MinDeletionDays     = 7
	MaxDeletionDays     = 30
	DefaultDeletionDays = 30
)

// CreateRequest describes a new key.
type CreateRequest struct {
	Name        string
	Type        device.KeyType
	Description string
	Tags        map[string]string
	// Exportable marks the key as allowed to leave mima: through Export
	// (wrapped under a caller's SM2 public key) and Backup.
	Exportable bool
	// Derived allows operations with a Derivation (sm4 and zuc keys);
	// see Derive.
	Derived bool
	// AutoRotatePeriod, when not 0, has RunJobs add a version once the
	// latest is this old; at least MinAutoRotatePeriod.
	AutoRotatePeriod time.Duration
	// Device places the key, and every version it gets, on this member of
	// a device pool; "" leaves the choice to the pool.
	Device string
}

func (req *CreateRequest) check() error {
	if err := checkName(req.Name); err != nil {
		return err
	}
	if len(req.Description) > maxDescription {
		return fault.Invalid("the description is longer than %d bytes", maxDescription)
	}
	if len(req.Tags) > maxTags {
		return fault.Invalid("a key has at most %d tags", maxTags)
	}
	for k, v := range req.Tags {
		if k == "" || len(k) > maxTagKey || len(v) > maxTagValue {
			return fault.Invalid("tag keys are 1 to %d bytes and values at most %d bytes", maxTagKey, maxTagValue)
		}
	}
	if req.Derived && typeBit(req.Type)&(tSM4|tZUC) == 0 {
		return fault.Invalid("only sm4, zuc-128 and zuc-256 keys can be derived keys")
	}
	if req.AutoRotatePeriod != 0 && req.AutoRotatePeriod < MinAutoRotatePeriod {
		return fault.Invalid("the automatic rotation period must be 0 (off) or at least %s", MinAutoRotatePeriod)
	}
	return nil
}

// checkDevice refuses a placement on a device the service does not have.
func (s *Service) checkDevice(name string) error {
	if name == "" {
		return nil
	}
	p, ok := s.dev.(device.Placer)
	if !ok {
		return fault.Invalid("no device %q: this server has one key device; configure devices to place keys", name)
	}
	if !slices.Contains(p.Members(), name) {
		return fault.Invalid("no device %q; the devices are %s", name, strings.Join(p.Members(), ", "))
	}
	return nil
}

// Create generates a key with one version. The name must be unused in the
// tenant, and must not have belonged to a destroyed key (key_destroyed).
func (s *Service) Create(ctx context.Context, tenant string, req CreateRequest) (KeyInfo, error) {
	if err := checkTenant(tenant); err != nil {
		return KeyInfo{}, err
	}
	if err := req.check(); err != nil {
		return KeyInfo{}, err
	}
	if err := s.checkDevice(req.Device); err != nil {
		return KeyInfo{}, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return KeyInfo{}, err
	}
	material, err := s.generate(onDevice(ctx, tenant, req.Device), req.Type)
	if err != nil {
		return KeyInfo{}, err
	}
	now := s.now().UTC()
	r := &record{
		Name: req.Name, Type: req.Type, Description: req.Description, Tags: req.Tags,
		Exportable: req.Exportable, Derived: req.Derived, State: Enabled,
		CreatedAt: now, UpdatedAt: now, AutoRotatePeriod: req.AutoRotatePeriod,
		MinDecryptionVersion: 1, MinEncryptionVersion: 1, Device: req.Device,
	}
	r.addVersion(material, now)
	defer r.wipe()
	if err := s.saveNew(ctx, st, tenant, r, ""); err != nil {
		return KeyInfo{}, err
	}
	return r.info(), nil
}

// saveNew stores the new key r, on condition that no key and no tombstone
// has its name: the names are the only records it reads, so creations of
// other keys never conflict with it. hint ends the message of a refusal.
func (s *Service) saveNew(ctx context.Context, st storage.Backend, tenant string, r *record, hint string) error {
	limit, err := s.tenantKeyQuota(ctx, tenant)
	if err != nil {
		return err
	}
	if limit > 0 {
		mu, _ := s.creations.LoadOrStore(tenant, new(sync.Mutex))
		mu.(*sync.Mutex).Lock()
		defer mu.(*sync.Mutex).Unlock()
	}
	return s.atomic(ctx, st, tenant, r.Name, func(tx storage.Backend) error {
		if limit > 0 {
			held, err := tx.List(ctx, paths.Keys(tenant), "", int(limit))
			if err != nil {
				return err
			}
			if int64(len(held)) >= limit {
				return fault.New(fault.QuotaExceeded, "tenant %q holds %d keys, its quota (max_keys)", tenant, limit)
			}
		}
		if free, err := storage.Absent(ctx, tx, paths.Key{Tenant: tenant, Name: r.Name}.String()); err != nil {
			return fault.Storage(err)
		} else if !free {
			return fault.New(fault.AlreadyExists, "key %q already exists%s", r.Name, hint)
		}
		if free, err := storage.Absent(ctx, tx, tombstonePath(tenant, r.Name)); err != nil {
			return fault.Storage(err)
		} else if !free {
			return fault.New(fault.KeyDestroyed, "key %q was destroyed; its name cannot be reused%s", r.Name, hint)
		}
		return save(ctx, tx, tenant, r, "")
	})
}

// tenantKeyQuota is the tenant's bound on keys, 0 for none.
func (s *Service) tenantKeyQuota(ctx context.Context, tenant string) (int64, error) {
	if s.keyQuota == nil {
		return 0, nil
	}
	return s.keyQuota(ctx, tenant)
}

// Get describes the key ref (a key name or alias).
func (s *Service) Get(ctx context.Context, tenant, ref string) (KeyInfo, error) {
	_, r, err := s.readRecord(ctx, tenant, ref)
	if err != nil {
		return KeyInfo{}, err
	}
	r.wipe()
	return s.describe(tenant, r), nil
}

// readRecord loads the record of key ref (a key name or alias) from
// storage, with the store it came from; the caller wipes it when done.
func (s *Service) readRecord(ctx context.Context, tenant, ref string) (storage.Backend, *record, error) {
	st, name, err := s.resolveForWrite(ctx, tenant, ref)
	if err != nil {
		return nil, nil, err
	}
	r, err := loadRecord(ctx, st, tenant, name, ref)
	if err != nil {
		return nil, nil, err
	}
	return st, r, nil
}

// Rotate adds a version; new encryptions use it.
func (s *Service) Rotate(ctx context.Context, tenant, ref string) (KeyInfo, error) {
	return s.update(ctx, tenant, ref, func(r *record, now time.Time) error {
		if r.State == PendingDeletion {
			return fault.New(fault.KeyPendingDeletion, "key %q is pending deletion", ref)
		}
		material, err := s.generate(onDevice(ctx, tenant, r.Device), r.Type)
		if err != nil {
			return err
		}
		r.addVersion(material, now)
		return nil
	})
}

// MinVersions sets the oldest versions a key accepts; 0 leaves a value
// unchanged.
type MinVersions struct {
	// Decryption: ciphertexts, signatures and MACs of older versions are
	// refused (key_version_below_minimum).
	Decryption int
	// Encryption: explicitly requesting an older version to encrypt, sign
	// or MAC with is refused. It is at least Decryption.
	Encryption int
}

// SetMinVersions changes the minimum decryption and encryption versions.
func (s *Service) SetMinVersions(ctx context.Context, tenant, ref string, mv MinVersions) (KeyInfo, error) {
	return s.update(ctx, tenant, ref, func(r *record, _ time.Time) error {
		dec, enc := r.MinDecryptionVersion, r.MinEncryptionVersion
		if mv.Decryption != 0 {
			dec = mv.Decryption
		}
		if mv.Encryption != 0 {
			enc = mv.Encryption
		} else if enc < dec {
			enc = dec // raising the decryption floor raises the encryption floor with it
		}
		if dec < 1 || dec > r.latest() || enc < 1 || enc > r.latest() {
			return fault.Invalid("minimum versions must be between 1 and the latest version %d", r.latest())
		}
		if enc < dec {
			return fault.Invalid("the minimum encryption version cannot be below the minimum decryption version")
		}
		r.MinDecryptionVersion, r.MinEncryptionVersion = dec, enc
		return nil
	})
}

// Enable makes a disabled key usable again.
func (s *Service) Enable(ctx context.Context, tenant, ref string) (KeyInfo, error) {
	return s.setState(ctx, tenant, ref, Enabled)
}

// Disable makes a key unusable for every operation until Enable; it is
// still listed and described.
func (s *Service) Disable(ctx context.Context, tenant, ref string) (KeyInfo, error) {
	return s.setState(ctx, tenant, ref, Disabled)
}

func (s *Service) setState(ctx context.Context, tenant, ref string, to State) (KeyInfo, error) {
	return s.update(ctx, tenant, ref, func(r *record, _ time.Time) error {
		if r.State == PendingDeletion {
			return fault.New(fault.KeyPendingDeletion, "key %q is pending deletion; cancel the deletion first", ref)
		}
		r.State = to
		return nil
	})
}

// ScheduleDeletion makes the key unusable and has RunJobs destroy it after
// days days (MinDeletionDays to MaxDeletionDays; 0 means
// DefaultDeletionDays). Destruction wipes every version and leaves a
// tombstone so the name is not reused.
func (s *Service) ScheduleDeletion(ctx context.Context, tenant, ref string, days int) (KeyInfo, error) {
	if days == 0 {
		days = DefaultDeletionDays
	}
	if days < MinDeletionDays || days > MaxDeletionDays {
		return KeyInfo{}, fault.Invalid("the deletion waiting period must be %d to %d days", MinDeletionDays, MaxDeletionDays)
	}
	return s.update(ctx, tenant, ref, func(r *record, now time.Time) error {
		if r.State == PendingDeletion {
			return fault.New(fault.KeyPendingDeletion, "key %q is already pending deletion", ref)
		}
		at := now.Add(time.Duration(days) * 24 * time.Hour)
		r.State, r.DeletionDate = PendingDeletion, &at
		return nil
	})
}

// CancelDeletion stops a scheduled deletion; the key is left disabled.
func (s *Service) CancelDeletion(ctx context.Context, tenant, ref string) (KeyInfo, error) {
	return s.update(ctx, tenant, ref, func(r *record, _ time.Time) error {
		if r.State != PendingDeletion {
			return fault.Invalid("key %q is not pending deletion", ref)
		}
		r.State, r.DeletionDate = Disabled, nil
		return nil
	})
}

// update applies change to the stored record of ref and stores it with
// its schedule entry, on condition that the record did not change
// meanwhile (else it reads it again and reapplies change), then drops the
// cached key.
func (s *Service) update(ctx context.Context, tenant, ref string, change func(r *record, now time.Time) error) (KeyInfo, error) {
	st, name, err := s.resolveForWrite(ctx, tenant, ref)
	if err != nil {
		return KeyInfo{}, err
	}
	var info KeyInfo
	err = s.atomic(ctx, st, tenant, name, func(tx storage.Backend) error {
		r, err := loadRecord(ctx, tx, tenant, name, ref)
		if err != nil {
			return err
		}
		defer r.wipe()
		oldDue := r.dueEntry(tenant)
		now := s.now().UTC()
		if err := change(r, now); err != nil {
			return err
		}
		r.UpdatedAt = now
		if err := save(ctx, tx, tenant, r, oldDue); err != nil {
			return err
		}
		info = s.describe(tenant, r)
		return nil
	})
	return info, err
}

// atomic runs fn in a storage transaction (storage.Atomic) and, once it
// committed, drops the cached copy of key name.
func (s *Service) atomic(ctx context.Context, st storage.Backend, tenant, name string, fn func(tx storage.Backend) error) error {
	if err := storage.Atomic(ctx, st, fn); err != nil {
		return fault.Storage(err)
	}
	s.keys.Remove(paths.Key{Tenant: tenant, Name: name})
	return nil
}

// save writes r with its schedule entry, replacing oldDue.
func save(ctx context.Context, st storage.Backend, tenant string, r *record, oldDue string) error {
	ops, err := r.writeOps(tenant, oldDue)
	if err != nil {
		return err
	}
	return st.Batch(ctx, ops)
}

// resolveForWrite returns the store and the key name of ref, following an
// alias.
func (s *Service) resolveForWrite(ctx context.Context, tenant, ref string) (storage.Backend, string, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, "", err
	}
	st, err := s.store.Backend()
	if err != nil {
		return nil, "", err
	}
	name := ref
	if alias, ok := cutAlias(ref); ok {
		if name, err = s.resolveAlias(ctx, tenant, alias, ref); err != nil {
			return nil, "", err
		}
	}
	if err := checkName(name); err != nil {
		return nil, "", err
	}
	return st, name, nil
}

// onDevice returns ctx naming, for the device, the tenant a key is made
// for and the member of a pool it is placed on ("" for the pool's choice).
func onDevice(ctx context.Context, tenant, placement string) context.Context {
	ctx = device.WithTenant(ctx, tenant)
	if placement != "" {
		ctx = device.WithPlacement(ctx, placement)
	}
	return ctx
}

// generate returns fresh material for a key of type t; a type the device
// does not support is the caller's mistake.
func (s *Service) generate(ctx context.Context, t device.KeyType) ([]byte, error) {
	m, err := s.dev.Generate(ctx, t)
	if errors.Is(err, device.ErrUnsupportedType) {
		return nil, fault.Wrap(err, fault.InvalidArgument, "key type %q cannot be generated; the types are sm4, sm2, hmac-sm3, zuc-128, zuc-256, sm9-sign-master and sm9-enc-master (SM9 user keys are extracted by their master)", string(t))
	}
	if err != nil {
		return nil, deviceErr(err)
	}
	return m, nil
}
