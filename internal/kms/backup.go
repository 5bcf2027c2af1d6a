package kms

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/pbkdf2"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/sm4gcm"
)

// Backup blob parameters; see Backup for the format.
const (
	// DefaultBackupIterations is the PBKDF2-HMAC-SM3 iteration count Backup
	// uses unless WithBackupIterations says otherwise.
	DefaultBackupIterations = 600_000
	// MaxBackupIterations bounds the iteration count Restore accepts (and
	// WithBackupIterations sets), so that a blob cannot demand unbounded
	// work before its password is checked. Five times the default lets a
	// later default grow without older servers refusing its blobs, while a
	// crafted header costs at most five ordinary restores (about 2.5 s of
	// one core; 10,000,000 iterations took 8 s).
	MaxBackupIterations = 5 * DefaultBackupIterations
	// MinBackupPassword and MaxBackupPassword bound the password length in
	// bytes (Restore takes any non-empty password up to the maximum).
	MinBackupPassword = 12
	MaxBackupPassword = 1024
	// MaxBackupSize bounds the blob Restore accepts.
	MaxBackupSize = 16 << 20
)

// Backup blob layout, version 1.
const (
	backupMagic   = "MIMABKUP"
	backupVersion = 1
	kdfPBKDF2SM3  = 1
	backupSalt    = 16
	backupKeySize = 16 // an SM4 key
	// backupHeader is magic, version, kdf, iterations, salt and nonce.
	backupHeader = len(backupMagic) + 1 + 1 + 4 + backupSalt + device.NonceSize
)

// WithBackupIterations sets the PBKDF2-HMAC-SM3 iteration count of the
// blobs Backup makes: n < 1 means DefaultBackupIterations, and n is at
// most MaxBackupIterations. Restore reads the count from the blob.
func WithBackupIterations(n int) Option {
	return func(s *Service) {
		if n < 1 {
			n = DefaultBackupIterations
		}
		s.backupIter = min(n, MaxBackupIterations)
	}
}

// BackupRequest protects a backup.
type BackupRequest struct {
	// Password derives the blob's key; MinBackupPassword to
	// MaxBackupPassword bytes. Whoever holds the blob and the password
	// holds every version of the key.
	Password []byte
}

// RestoreRequest restores a backup made by Backup.
type RestoreRequest struct {
	Blob     []byte
	Password []byte
	// Name, when set, restores the key under this name instead of the one
	// it was backed up under.
	Name string
}

// Backup returns key ref with all its versions as a blob that Restore
// takes back, in this mima or another one: it is sealed under the
// password, not under the barrier. Since the blob gives the key material
// to whoever knows the password, only exportable keys can be backed up
// (key_not_exportable), as with OpenBao transit's allow_plaintext_backup.
// Aliases are not part of the backup.
//
// The blob (version 1) is a 42-byte header followed by the sealed body:
//
//	offset  size  field
//	0       8     magic "MIMABKUP" (ASCII)
//	8       1     format version: 1
//	9       1     key derivation: 1 = PBKDF2 (RFC 8018) with HMAC-SM3
//	10      4     PBKDF2 iteration count, big endian, 1 to 3,000,000
//	              (Backup writes 600,000 by default)
//	14      16    PBKDF2 salt, random
//	30      12    SM4-GCM nonce, random
//	42      ...   SM4-GCM ciphertext of the body || 16-byte tag
//
// The SM4 key is the 16-byte PBKDF2-HMAC-SM3 output for the password and
// salt; the additional authenticated data is the 42-byte header, so no
// header field can be changed without failing authentication. The body is
// the key's stored record in JSON (see record): name, type, description,
// tags, exportable, derived, state, times, automatic rotation period,
// minimum decryption and encryption versions, and every version with its
// creation time and the device's backup form of its key (device.Backup;
// for the Software device the raw key: 16 SM4 key bytes, the 32-byte SM2
// private scalar, or the HMAC-SM3 key), base64 encoded. A device that
// does not let the key out refuses (key_not_exportable).
func (s *Service) Backup(ctx context.Context, tenant, ref string, req BackupRequest) ([]byte, error) {
	if len(req.Password) < MinBackupPassword || len(req.Password) > MaxBackupPassword {
		return nil, fault.Invalid("the backup password must be %d to %d bytes", MinBackupPassword, MaxBackupPassword)
	}
	_, r, err := s.readRecord(ctx, tenant, ref)
	if err != nil {
		return nil, err
	}
	defer r.wipe()
	if !r.Exportable {
		return nil, fault.New(fault.KeyNotExportable, "key %q was not created exportable, so it cannot be backed up", ref)
	}
	for i := range r.Versions {
		b, err := s.dev.Backup(ctx, r.Type, r.Versions[i].Material)
		if errors.Is(err, device.ErrNotSupported) {
			return nil, errDeviceKeepsKey(ref)
		}
		if err != nil {
			return nil, deviceErr(err)
		}
		clear(r.Versions[i].Material)
		r.Versions[i].Material = b
	}
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("kms: encoding key record: %w", err)
	}
	defer clear(body)
	return sealBackup(s.rand, req.Password, s.backupIter, body)
}

// Restore creates a key from a blob made by Backup and returns it. The key
// takes the name it was backed up under, or req.Name; a name in use is
// already_exists and the name of a destroyed key is key_destroyed, so
// Restore never replaces a key. A wrong password and a damaged or
// tampered blob are backup_invalid, without detail. The restored key has
// all its versions, metadata and minimum versions; its state is kept,
// except that a key backed up while pending deletion is restored disabled.
func (s *Service) Restore(ctx context.Context, tenant string, req RestoreRequest) (KeyInfo, error) {
	if err := checkTenant(tenant); err != nil {
		return KeyInfo{}, err
	}
	if req.Name != "" {
		if err := checkName(req.Name); err != nil {
			return KeyInfo{}, err
		}
	}
	if len(req.Password) == 0 || len(req.Password) > MaxBackupPassword {
		return KeyInfo{}, fault.Invalid("the backup password must be 1 to %d bytes", MaxBackupPassword)
	}
	st, err := s.store.Backend()
	if err != nil {
		return KeyInfo{}, err
	}
	r, err := s.openBackup(device.WithTenant(ctx, tenant), req.Blob, req.Password)
	if err != nil {
		return KeyInfo{}, err
	}
	defer r.wipe()
	if req.Name != "" {
		r.Name = req.Name
	}
	if r.State == PendingDeletion {
		r.State, r.DeletionDate = Disabled, nil
	}
	r.UpdatedAt = s.now().UTC()
	if err := s.saveNew(ctx, st, tenant, r, "; restore under another name"); err != nil {
		return KeyInfo{}, err
	}
	return r.info(), nil
}

// errBackup is the only answer to a blob that does not open.
var errBackup = fault.New(fault.BackupInvalid, "the backup could not be opened: wrong password, or a damaged or foreign blob")

// backupHeaderFields is the parsed header of a backup blob.
type backupHeaderFields struct {
	iterations int
	salt       []byte
	nonce      []byte
}

// sealBackup returns the blob of body under password.
func sealBackup(rand io.Reader, password []byte, iterations int, body []byte) ([]byte, error) {
	blob := make([]byte, backupHeader, backupHeader+len(body)+device.TagSize)
	copy(blob, backupMagic)
	blob[8], blob[9] = backupVersion, kdfPBKDF2SM3
	binary.BigEndian.PutUint32(blob[10:14], uint32(iterations))
	if _, err := io.ReadFull(rand, blob[14:backupHeader]); err != nil {
		return nil, deviceErr(err)
	}
	h := backupHeaderFields{iterations: iterations, salt: blob[14:30], nonce: blob[30:backupHeader]}
	aead, err := h.aead(password)
	if err != nil {
		return nil, err
	}
	return aead.Seal(blob, h.nonce, body, blob[:backupHeader]), nil
}

// parseBackupHeader checks and splits the header of a blob.
func parseBackupHeader(blob []byte) (backupHeaderFields, bool) {
	if len(blob) < backupHeader+device.TagSize || len(blob) > MaxBackupSize ||
		!bytes.Equal(blob[:8], []byte(backupMagic)) || blob[8] != backupVersion || blob[9] != kdfPBKDF2SM3 {
		return backupHeaderFields{}, false
	}
	n := binary.BigEndian.Uint32(blob[10:14])
	if n < 1 || n > MaxBackupIterations {
		return backupHeaderFields{}, false
	}
	return backupHeaderFields{iterations: int(n), salt: blob[14:30], nonce: blob[30:backupHeader]}, true
}

// aead returns SM4-GCM under the key derived from password.
func (h backupHeaderFields) aead(password []byte) (cipher.AEAD, error) {
	key, err := pbkdf2.Key(sm3.New, string(password), h.salt, h.iterations, backupKeySize)
	if err != nil {
		return nil, fmt.Errorf("kms: deriving the backup key: %w", err)
	}
	defer clear(key)
	aead, err := sm4gcm.New(key)
	if err != nil {
		return nil, fmt.Errorf("kms: backup key: %w", err)
	}
	return aead.GCM(), nil
}

// openBackup authenticates and decrypts a blob and returns its record,
// checked so that it can be stored as is.
func (s *Service) openBackup(ctx context.Context, blob, password []byte) (*record, error) {
	body, err := OpenSealed(blob, password)
	if err != nil {
		return nil, err
	}
	defer clear(body)
	var r record
	if err := json.Unmarshal(body, &r); err != nil {
		// The cause could quote the body: leave it out.
		return nil, fault.New(fault.BackupInvalid, "the backup's key record is not valid JSON")
	}
	if err := s.checkRestored(ctx, &r); err != nil {
		r.wipe()
		return nil, err
	}
	return &r, nil
}

// checkRestored checks a record from a backup as Create and the other
// changes would have left it, and has the device restore every version's
// key into its stored form; a violation is backup_invalid naming the
// rule.
func (s *Service) checkRestored(ctx context.Context, r *record) error {
	bad := func(format string, args ...any) error {
		return fault.New(fault.BackupInvalid, "the backup's key record is invalid: "+format, args...)
	}
	if typeBit(r.Type) == 0 {
		return bad("unknown key type %q", r.Type)
	}
	cr := CreateRequest{Name: r.Name, Type: r.Type, Description: r.Description, Tags: r.Tags, Derived: r.Derived, AutoRotatePeriod: r.AutoRotatePeriod}
	if err := cr.check(); err != nil {
		fe, _ := fault.As(err)
		return bad("%s", fe.Message)
	}
	switch r.State {
	case Enabled, Disabled, PendingDeletion:
	default:
		return bad("unknown state %q", r.State)
	}
	n := len(r.Versions)
	if n == 0 {
		return bad("it has no versions")
	}
	if r.MinDecryptionVersion < 1 || r.MinEncryptionVersion < r.MinDecryptionVersion || r.MinEncryptionVersion > n {
		return bad("the minimum versions must satisfy 1 <= decryption <= encryption <= %d", n)
	}
	// The key goes back on its device when this service has it.
	if s.checkDevice(r.Device) != nil {
		r.Device = ""
	}
	if r.Device != "" {
		ctx = device.WithPlacement(ctx, r.Device)
	}
	for i, v := range r.Versions {
		if v.Version != i+1 {
			return bad("versions must be numbered from 1 without gaps")
		}
		stored, err := s.dev.Restore(ctx, r.Type, v.Material)
		if errors.Is(err, device.ErrBusy) || errors.Is(err, device.ErrUnavailable) {
			return deviceErr(err)
		}
		if err != nil {
			return fault.Wrap(err, fault.BackupInvalid, "the backup's key record is invalid: the device refuses the material of version %d", v.Version)
		}
		clear(v.Material)
		r.Versions[i].Material = stored
	}
	return nil
}
