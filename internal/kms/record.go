package kms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// State is the lifecycle state of a key.
type State string

// Key states. Only enabled keys can be used; disabled and pending-deletion
// keys are still listed and can be read.
const (
	Enabled         State = "enabled"
	Disabled        State = "disabled"
	PendingDeletion State = "pending_deletion"
)

// record is the stored form of a key, at t/<tenant>/keys/<name>, in JSON:
//
//	{"name": "payments", "type": "sm4", "description": "...", "tags": {...},
//	 "exportable": false, "derived": false, "state": "enabled",
//	 "created_at": RFC 3339, "updated_at": RFC 3339,
//	 "deletion_date": RFC 3339 (pending deletion only),
//	 "auto_rotate_period": nanoseconds (0 or absent: off),
//	 "min_decryption_version": 1, "min_encryption_version": 1,
//	 "versions": [{"version": 1, "created_at": RFC 3339,
//	               "material": base64 of the device's stored form (opaque
//	                           here; see device.Device),
//	               "imported": true (Import only; absent: generated),
//	               "encryptions": SM4-GCM encryptions reserved (absent: 0)},
//	              ...]}
//
// Versions are numbered from 1 without gaps; the last is the latest.
// "encryptions" is the nonce budget spent or reserved (see nonces.go): at
// least the number of encryptions the version made.
type record struct {
	Name                 string            `json:"name"`
	Type                 device.KeyType    `json:"type"`
	Description          string            `json:"description,omitempty"`
	Tags                 map[string]string `json:"tags,omitempty"`
	Exportable           bool              `json:"exportable"`
	Derived              bool              `json:"derived"`
	State                State             `json:"state"`
	CreatedAt            time.Time         `json:"created_at"`
	UpdatedAt            time.Time         `json:"updated_at"`
	DeletionDate         *time.Time        `json:"deletion_date,omitempty"`
	AutoRotatePeriod     time.Duration     `json:"auto_rotate_period,omitempty"`
	MinDecryptionVersion int               `json:"min_decryption_version"`
	MinEncryptionVersion int               `json:"min_encryption_version"`
	Versions             []version         `json:"versions"`
	// Device is the member of a device pool the key is placed on, "" for
	// the pool's choice.
	Device string `json:"device,omitempty"`
}

type version struct {
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	Material  []byte    `json:"material"`
	Imported  bool      `json:"imported,omitempty"`
	// Encryptions is the version's count of SM4-GCM encryptions reserved.
	Encryptions uint64 `json:"encryptions,omitempty"`
}

// tombstone is what remains of a destroyed key, at
// t/<tenant>/destroyed/<name>; it keeps the name from being reused.
type tombstone struct {
	Name        string         `json:"name"`
	Type        device.KeyType `json:"type"`
	CreatedAt   time.Time      `json:"created_at"`
	DestroyedAt time.Time      `json:"destroyed_at"`
	Versions    int            `json:"versions"`
}

// latest returns the number of the latest version.
func (r *record) latest() int { return len(r.Versions) }

// addVersion appends a version holding material and returns its number.
func (r *record) addVersion(material []byte, now time.Time) int {
	n := len(r.Versions) + 1
	r.Versions = append(r.Versions, version{Version: n, CreatedAt: now, Material: material})
	return n
}

// wipe overwrites the key material held in memory.
func (r *record) wipe() {
	for _, v := range r.Versions {
		clear(v.Material)
	}
}

// nextRotation is when automatic rotation is next due.
func (r *record) nextRotation() time.Time {
	return r.Versions[len(r.Versions)-1].CreatedAt.Add(r.AutoRotatePeriod)
}

// dueEntry returns the schedule path of the record's next job, or "":
// destruction while pending deletion, rotation while enabled with a period.
func (r *record) dueEntry(tenant string) string {
	switch {
	case r.State == PendingDeletion && r.DeletionDate != nil:
		return duePath(dueDestroy, *r.DeletionDate, tenant, r.Name)
	case r.State == Enabled && r.AutoRotatePeriod > 0:
		return duePath(dueRotate, r.nextRotation(), tenant, r.Name)
	}
	return ""
}

// writeOps returns the ops that store r and move its schedule entry from
// oldDue (the entry before the change) to the current one.
func (r *record) writeOps(tenant, oldDue string) ([]storage.Op, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("kms: encoding key record: %w", err)
	}
	ops := []storage.Op{{Key: paths.Key{Tenant: tenant, Name: r.Name}.String(), Value: b}}
	if due := r.dueEntry(tenant); due != oldDue {
		if oldDue != "" {
			ops = append(ops, storage.Op{Key: oldDue, Delete: true})
		}
		if due != "" {
			ops = append(ops, storage.Op{Key: due, Value: []byte{}})
		}
	}
	return ops, nil
}

// loadRecord reads a key record; an absent key is key_not_found for ref.
func loadRecord(ctx context.Context, st storage.Backend, tenant, name, ref string) (*record, error) {
	b, err := st.Get(ctx, paths.Key{Tenant: tenant, Name: name}.String())
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errKeyNotFound(ref)
	}
	if err != nil {
		return nil, fault.Storage(err)
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("kms: key record %s/%s is corrupt: %w", tenant, name, err)
	}
	clear(b)
	if len(r.Versions) == 0 {
		return nil, fmt.Errorf("kms: key record %s/%s has no versions", tenant, name)
	}
	return &r, nil
}

// exists reports whether path holds an entry.
func exists(ctx context.Context, st storage.Backend, path string) (bool, error) {
	_, err := st.Get(ctx, path)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fault.Storage(err)
	}
	return true, nil
}

// KeyInfo describes a key without its material.
type KeyInfo struct {
	Name                 string            `json:"name"`
	Type                 device.KeyType    `json:"type"`
	Description          string            `json:"description,omitempty"`
	Tags                 map[string]string `json:"tags,omitempty"`
	Exportable           bool              `json:"exportable"`
	Derived              bool              `json:"derived"`
	State                State             `json:"state"`
	CreatedAt            time.Time         `json:"created_at"`
	UpdatedAt            time.Time         `json:"updated_at"`
	DeletionDate         *time.Time        `json:"deletion_date,omitempty"`
	AutoRotatePeriod     time.Duration     `json:"auto_rotate_period,omitempty"`
	NextRotation         *time.Time        `json:"next_rotation,omitempty"`
	LatestVersion        int               `json:"latest_version"`
	MinDecryptionVersion int               `json:"min_decryption_version"`
	MinEncryptionVersion int               `json:"min_encryption_version"`
	Versions             []VersionInfo     `json:"versions"`
	// Device is the member of a device pool the key is placed on, "" when
	// the pool chose.
	Device string `json:"device,omitempty"`
}

// VersionInfo describes one version of a key.
type VersionInfo struct {
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	// Imported is set for a version added by Import rather than generated.
	Imported bool `json:"imported,omitempty"`
	// Encryptions counts the SM4-GCM encryptions made with the version
	// (sm4 keys; 0 for others), plus those that running nodes reserved and
	// have not made yet. It never passes the service's nonce limit: the
	// key rotates first.
	Encryptions uint64 `json:"encryptions"`
}

func (r *record) info() KeyInfo {
	ki := KeyInfo{
		Name: r.Name, Type: r.Type, Description: r.Description, Exportable: r.Exportable,
		Derived: r.Derived, State: r.State, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		DeletionDate: r.DeletionDate, AutoRotatePeriod: r.AutoRotatePeriod, LatestVersion: r.latest(),
		MinDecryptionVersion: r.MinDecryptionVersion, MinEncryptionVersion: r.MinEncryptionVersion,
		Versions: make([]VersionInfo, len(r.Versions)), Device: r.Device,
	}
	if len(r.Tags) > 0 {
		ki.Tags = maps.Clone(r.Tags)
	}
	if r.AutoRotatePeriod > 0 {
		next := r.nextRotation()
		ki.NextRotation = &next
	}
	for i, v := range r.Versions {
		ki.Versions[i] = VersionInfo{Version: v.Version, CreatedAt: v.CreatedAt, Imported: v.Imported, Encryptions: v.Encryptions}
	}
	return ki
}
