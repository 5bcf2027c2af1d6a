package kms

import (
	"bytes"
	"crypto/pbkdf2"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

// testIterations keeps PBKDF2 cheap in tests.
const testIterations = 1000

var password = []byte("correct horse battery staple")

func newBackupService(t testing.TB) (*Service, *countingStore, *clocktest.Clock) {
	t.Helper()
	return newTestService(t, WithBackupIterations(testIterations))
}

func mustBackup(t *testing.T, s *Service, tenant, key string) []byte {
	t.Helper()
	blob, err := s.Backup(ctx, tenant, key, BackupRequest{Password: password})
	if err != nil {
		t.Fatalf("backup %s/%s: %v", tenant, key, err)
	}
	return blob
}

// withoutUpdate returns ki in JSON with UpdatedAt cleared, to compare keys
// across a restore.
func withoutUpdate(t *testing.T, ki KeyInfo) string {
	t.Helper()
	ki.UpdatedAt = time.Time{}
	b, err := json.Marshal(ki)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBackupRestoreAnotherCluster backs up a key with several versions and
// restores it into another service, which then opens what the first made
// before the backup.
func TestBackupRestoreAnotherCluster(t *testing.T) {
	for _, typ := range []device.KeyType{device.SM4, device.SM2, device.HMACSM3} {
		t.Run(string(typ), func(t *testing.T) {
			src, srcStore, _ := newBackupService(t)
			mustCreate(t, src, "acme", "k", typ, exportable, func(r *CreateRequest) {
				r.Description, r.Tags, r.AutoRotatePeriod = "backed up", map[string]string{"team": "pay"}, 30*day
				r.Derived = typ == device.SM4
			})
			for range 2 {
				if _, err := src.Rotate(ctx, "acme", "k"); err != nil {
					t.Fatal(err)
				}
			}
			msg := []byte("made before the backup")
			var check func(s *Service, tenant, key string)
			switch typ {
			case device.SM4, device.SM2:
				ct := mustEncrypt(t, src, "acme", "k", EncryptRequest{Plaintext: msg, Version: 2})
				check = func(s *Service, tenant, key string) {
					if pt, err := s.Decrypt(ctx, tenant, key, DecryptRequest{Ciphertext: ct}); err != nil || !bytes.Equal(pt, msg) {
						t.Fatalf("restored key decrypts %q, %v", pt, err)
					}
				}
			case device.HMACSM3:
				m, err := src.MAC(ctx, "acme", "k", MACRequest{Input: msg, Version: 2})
				if err != nil {
					t.Fatal(err)
				}
				check = func(s *Service, tenant, key string) {
					if ok, err := s.VerifyMAC(ctx, tenant, key, VerifyMACRequest{Input: msg, MAC: m.MAC, Version: 2}); err != nil || !ok {
						t.Fatalf("restored key verifies the MAC: %v, %v", ok, err)
					}
				}
			}
			if _, err := src.SetMinVersions(ctx, "acme", "k", MinVersions{Decryption: 2, Encryption: 3}); err != nil {
				t.Fatal(err)
			}
			before, err := src.Get(ctx, "acme", "k")
			if err != nil {
				t.Fatal(err)
			}
			blob := mustBackup(t, src, "acme", "k")

			dst, _, dstClock := newTestService(t) // default iterations: Restore reads them from the blob
			dstClock.Advance(90 * day)
			ki, err := dst.Restore(ctx, "beta", RestoreRequest{Blob: blob, Password: password})
			if err != nil {
				t.Fatal(err)
			}
			// The backup carries the stored counts of encryptions, which
			// include the nonces src reserved and has not used.
			for i, v := range ki.Versions {
				if v.Encryptions < before.Versions[i].Encryptions {
					t.Fatalf("restored version %d counts %d encryptions, backed up %d", v.Version, v.Encryptions, before.Versions[i].Encryptions)
				}
				ki.Versions[i].Encryptions = before.Versions[i].Encryptions
			}
			if withoutUpdate(t, ki) != withoutUpdate(t, before) || !ki.UpdatedAt.Equal(dstClock.Now()) {
				t.Fatalf("restored %+v\nbacked up %+v", ki, before)
			}
			check(dst, "beta", "k")
			provesMaterial(t, dst, "beta", "k", typ, 3, rawMaterial(t, srcStore, "acme", "k", 3))

			// The same cluster under another name: a separate key.
			ki, err = src.Restore(ctx, "acme", RestoreRequest{Blob: blob, Password: password, Name: "k-copy"})
			if err != nil || ki.Name != "k-copy" || ki.LatestVersion != 3 {
				t.Fatalf("restore as k-copy: %+v, %v", ki, err)
			}
			check(src, "acme", "k-copy")
			if _, err := src.Rotate(ctx, "acme", "k-copy"); err != nil {
				t.Fatal(err)
			}
			if orig, _ := src.Get(ctx, "acme", "k"); orig.LatestVersion != 3 {
				t.Fatalf("rotating the copy changed the original: %+v", orig)
			}
		})
	}
}

// TestBackupFormat opens a blob as its documentation says, without the
// package's code.
func TestBackupFormat(t *testing.T) {
	s, st, _ := newBackupService(t)
	mustCreate(t, s, "acme", "k", device.SM4, exportable)
	blob := mustBackup(t, s, "acme", "k")
	if string(blob[:8]) != "MIMABKUP" || blob[8] != 1 || blob[9] != 1 || binary.BigEndian.Uint32(blob[10:14]) != testIterations {
		t.Fatalf("header % x", blob[:14])
	}
	salt, nonce := blob[14:30], blob[30:42]
	key, err := pbkdf2.Key(sm3.New, string(password), salt, testIterations, 16)
	if err != nil {
		t.Fatal(err)
	}
	body, err := sm4GCM(t, key).Open(nil, nonce, blob[42:], blob[:42])
	if err != nil {
		t.Fatalf("the documented scheme does not open the blob: %v", err)
	}
	var r struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		Versions []struct {
			Version  int    `json:"version"`
			Material []byte `json:"material"`
		} `json:"versions"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if r.Name != "k" || r.Type != "sm4" || len(r.Versions) != 1 || r.Versions[0].Version != 1 ||
		!bytes.Equal(r.Versions[0].Material, rawMaterial(t, st, "acme", "k", 1)) {
		t.Fatalf("body %s", body)
	}
	other := mustBackup(t, s, "acme", "k")
	if bytes.Equal(other[14:42], blob[14:42]) {
		t.Fatal("two backups share a salt and nonce")
	}
}

func TestBackupRejects(t *testing.T) {
	s, _, _ := newBackupService(t)
	mustCreate(t, s, "acme", "closed", device.SM4)
	mustCreate(t, s, "acme", "open", device.SM4, exportable)
	sealed, _, _ := newBackupService(t)
	sealed.Sealed()
	for _, tc := range []struct {
		name        string
		s           *Service
		tenant, key string
		password    []byte
		code        fault.Code
	}{
		{"not exportable", s, "acme", "closed", password, fault.KeyNotExportable},
		{"short password", s, "acme", "open", []byte("eleven char"), fault.InvalidArgument},
		{"long password", s, "acme", "open", bytes.Repeat([]byte("p"), MaxBackupPassword+1), fault.InvalidArgument},
		{"absent key", s, "acme", "nope", password, fault.KeyNotFound},
		{"invalid tenant", s, "a/b", "open", password, fault.InvalidArgument},
		{"sealed", sealed, "acme", "open", password, fault.Sealed},
	} {
		_, err := tc.s.Backup(ctx, tc.tenant, tc.key, BackupRequest{Password: tc.password})
		wantCode(t, tc.name, err, tc.code)
	}
}

func TestRestoreRejects(t *testing.T) {
	s, _, c := newBackupService(t)
	mustCreate(t, s, "acme", "k", device.SM4, exportable)
	mustCreate(t, s, "acme", "gone", device.SM4, exportable)
	blob := mustBackup(t, s, "acme", "k")
	goneBlob := mustBackup(t, s, "acme", "gone")
	if _, err := s.ScheduleDeletion(ctx, "acme", "gone", 7); err != nil {
		t.Fatal(err)
	}
	runJobs(t, s, c.Now().Add(7*day), JobReport{Destroyed: 1})
	flip := func(i int) []byte {
		b := bytes.Clone(blob)
		b[i] ^= 0x01
		return b
	}
	setIterations := func(n uint32) []byte {
		b := bytes.Clone(blob)
		binary.BigEndian.PutUint32(b[10:14], n)
		return b
	}
	sealed, _, _ := newBackupService(t)
	sealed.Sealed()
	_, wrongPassword := s.Restore(ctx, "acme", RestoreRequest{Blob: blob, Password: []byte("wrong password"), Name: "x"})
	for _, tc := range []struct {
		name   string
		s      *Service
		tenant string
		req    RestoreRequest
		code   fault.Code
	}{
		{"wrong password", s, "acme", RestoreRequest{Blob: blob, Password: []byte("Correct horse battery staple"), Name: "x"}, fault.BackupInvalid},
		{"magic", s, "acme", RestoreRequest{Blob: flip(0), Password: password, Name: "x"}, fault.BackupInvalid},
		{"version", s, "acme", RestoreRequest{Blob: flip(8), Password: password, Name: "x"}, fault.BackupInvalid},
		{"kdf", s, "acme", RestoreRequest{Blob: flip(9), Password: password, Name: "x"}, fault.BackupInvalid},
		{"iterations", s, "acme", RestoreRequest{Blob: flip(13), Password: password, Name: "x"}, fault.BackupInvalid},
		{"no iterations", s, "acme", RestoreRequest{Blob: setIterations(0), Password: password, Name: "x"}, fault.BackupInvalid},
		{"too many iterations", s, "acme", RestoreRequest{Blob: setIterations(MaxBackupIterations + 1), Password: password, Name: "x"}, fault.BackupInvalid},
		{"ten million iterations", s, "acme", RestoreRequest{Blob: setIterations(10_000_000), Password: password, Name: "x"}, fault.BackupInvalid},
		{"salt", s, "acme", RestoreRequest{Blob: flip(14), Password: password, Name: "x"}, fault.BackupInvalid},
		{"nonce", s, "acme", RestoreRequest{Blob: flip(41), Password: password, Name: "x"}, fault.BackupInvalid},
		{"body", s, "acme", RestoreRequest{Blob: flip(42), Password: password, Name: "x"}, fault.BackupInvalid},
		{"tag", s, "acme", RestoreRequest{Blob: flip(len(blob) - 1), Password: password, Name: "x"}, fault.BackupInvalid},
		{"truncated", s, "acme", RestoreRequest{Blob: blob[:len(blob)-1], Password: password, Name: "x"}, fault.BackupInvalid},
		{"header only", s, "acme", RestoreRequest{Blob: blob[:42+15], Password: password, Name: "x"}, fault.BackupInvalid},
		{"empty", s, "acme", RestoreRequest{Password: password, Name: "x"}, fault.BackupInvalid},
		{"too large", s, "acme", RestoreRequest{Blob: append(bytes.Clone(blob), make([]byte, MaxBackupSize)...), Password: password, Name: "x"}, fault.BackupInvalid},
		{"existing key", s, "acme", RestoreRequest{Blob: blob, Password: password}, fault.AlreadyExists},
		{"destroyed key", s, "acme", RestoreRequest{Blob: goneBlob, Password: password}, fault.KeyDestroyed},
		{"onto a destroyed key", s, "acme", RestoreRequest{Blob: blob, Password: password, Name: "gone"}, fault.KeyDestroyed},
		{"invalid name", s, "acme", RestoreRequest{Blob: blob, Password: password, Name: "a b"}, fault.InvalidArgument},
		{"no password", s, "acme", RestoreRequest{Blob: blob, Name: "x"}, fault.InvalidArgument},
		{"long password", s, "acme", RestoreRequest{Blob: blob, Password: make([]byte, MaxBackupPassword+1), Name: "x"}, fault.InvalidArgument},
		{"invalid tenant", s, "a/b", RestoreRequest{Blob: blob, Password: password}, fault.InvalidArgument},
		{"sealed", sealed, "acme", RestoreRequest{Blob: blob, Password: password}, fault.Sealed},
	} {
		_, err := tc.s.Restore(ctx, tc.tenant, tc.req)
		wantCode(t, tc.name, err, tc.code)
		if tc.code == fault.BackupInvalid && err != nil && err.Error() != wrongPassword.Error() {
			t.Errorf("%s: %q differs from the wrong password's %q", tc.name, err, wrongPassword)
		}
	}
	if _, err := s.Get(ctx, "acme", "x"); !fault.Is(err, fault.KeyNotFound) {
		t.Fatalf("a refused restore created a key: %v", err)
	}
	// The name that was refused restores fine elsewhere.
	if ki, err := s.Restore(ctx, "acme", RestoreRequest{Blob: goneBlob, Password: password, Name: "gone2"}); err != nil || ki.Name != "gone2" {
		t.Fatalf("restore as gone2: %+v, %v", ki, err)
	}
}

// TestBackupIterationCap checks that a blob's header cannot make Restore
// derive a key with more PBKDF2 iterations than MaxBackupIterations: the
// header is refused before any derivation, so that a restore costs at most
// five default backups of CPU whatever the blob asks for.
func TestBackupIterationCap(t *testing.T) {
	blob := make([]byte, backupHeader+device.TagSize)
	copy(blob, backupMagic)
	blob[8], blob[9] = backupVersion, kdfPBKDF2SM3
	for _, tc := range []struct {
		iterations uint32
		ok         bool
	}{
		{1, true}, {DefaultBackupIterations, true}, {MaxBackupIterations, true},
		{MaxBackupIterations + 1, false}, {10_000_000, false}, {1<<32 - 1, false}, {0, false},
	} {
		binary.BigEndian.PutUint32(blob[10:14], tc.iterations)
		if _, ok := parseBackupHeader(blob); ok != tc.ok {
			t.Errorf("%d iterations: accepted %v, want %v", tc.iterations, ok, tc.ok)
		}
	}
}

// TestRestoreChecksRecord seals bodies that authenticate but do not hold a
// valid key record.
func TestRestoreChecksRecord(t *testing.T) {
	s, st, _ := newBackupService(t)
	mustCreate(t, s, "acme", "k", device.SM4, exportable)
	r, err := loadRecord(ctx, st, "acme", "k", "k")
	if err != nil {
		t.Fatal(err)
	}
	good, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(r *record)
		body   string // instead of the changed record
		msg    string
	}{
		{name: "not json", body: "{", msg: "not valid JSON"},
		{name: "unknown type", change: func(r *record) { r.Type = "rsa" }, msg: "unknown key type"},
		{name: "bad name", change: func(r *record) { r.Name = "a/b" }, msg: "invalid"},
		{name: "derived hmac", change: func(r *record) { r.Type, r.Derived = device.HMACSM3, true }, msg: "derived"},
		{name: "short rotation", change: func(r *record) { r.AutoRotatePeriod = time.Minute }, msg: "rotation period"},
		{name: "unknown state", change: func(r *record) { r.State = "lost" }, msg: "unknown state"},
		{name: "no versions", change: func(r *record) { r.Versions = nil }, msg: "no versions"},
		{name: "version gap", change: func(r *record) { r.Versions[0].Version = 2 }, msg: "without gaps"},
		{name: "min decryption 0", change: func(r *record) { r.MinDecryptionVersion = 0 }, msg: "minimum versions"},
		{name: "min encryption below decryption", change: func(r *record) {
			r.addVersion(bytes.Clone(r.Versions[0].Material), r.CreatedAt)
			r.MinDecryptionVersion = 2
		}, msg: "minimum versions"},
		{name: "min encryption too high", change: func(r *record) { r.MinEncryptionVersion = 2 }, msg: "minimum versions"},
		{name: "bad material", change: func(r *record) { r.Versions[0].Material = r.Versions[0].Material[:15] }, msg: "refuses the material of version 1"},
	} {
		body := []byte(tc.body)
		if tc.change != nil {
			var rr record
			if err := json.Unmarshal(good, &rr); err != nil {
				t.Fatal(err)
			}
			tc.change(&rr)
			if body, err = json.Marshal(&rr); err != nil {
				t.Fatal(err)
			}
		}
		blob, err := sealBackup(s.rand, password, testIterations, body)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Restore(ctx, "acme", RestoreRequest{Blob: blob, Password: password, Name: "restored"})
		wantCode(t, tc.name, err, fault.BackupInvalid)
		if err != nil && !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: message %q does not say %q", tc.name, err, tc.msg)
		}
	}
}

func TestRestoreStates(t *testing.T) {
	s, _, c := newBackupService(t)
	for _, name := range []string{"off", "doomed"} {
		mustCreate(t, s, "acme", name, device.SM4, exportable)
	}
	if _, err := s.Disable(ctx, "acme", "off"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ScheduleDeletion(ctx, "acme", "doomed", 7); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ key, as string }{{"off", "off2"}, {"doomed", "doomed2"}} {
		ki, err := s.Restore(ctx, "acme", RestoreRequest{Blob: mustBackup(t, s, "acme", tc.key), Password: password, Name: tc.as})
		if err != nil || ki.State != Disabled || ki.DeletionDate != nil {
			t.Fatalf("restore of %s: %+v, %v", tc.key, ki, err)
		}
	}
	runJobs(t, s, c.Now().Add(8*day), JobReport{Destroyed: 1})
	if ki, err := s.Get(ctx, "acme", "doomed2"); err != nil || ki.State != Disabled {
		t.Fatalf("the restored copy of a doomed key: %+v, %v", ki, err)
	}
}

func TestWithBackupIterations(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{0, DefaultBackupIterations},
		{-5, DefaultBackupIterations},
		{1, 1},
		{MaxBackupIterations, MaxBackupIterations},
		{MaxBackupIterations + 1, MaxBackupIterations},
	} {
		if got := New(sharedDevice, WithBackupIterations(tc.n)).backupIter; got != tc.want {
			t.Errorf("WithBackupIterations(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
	if got := New(sharedDevice).backupIter; got != DefaultBackupIterations {
		t.Errorf("default iterations %d", got)
	}
}

// FuzzRestoreBlob feeds arbitrary blobs to the backup parser. It must
// never panic; a blob it opens must hold a record that passes the checks.
func FuzzRestoreBlob(f *testing.F) {
	s, _, _ := newTestService(f)
	const fuzzIterations = 2
	valid, err := sealBackup(s.rand, password, fuzzIterations, []byte(`{"name":"k","type":"sm4","state":"enabled","min_decryption_version":1,"min_encryption_version":1,"versions":[{"version":1,"material":"AAECAwQFBgcICQoLDA0ODw=="}]}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:backupHeader])
	f.Add([]byte(backupMagic))
	f.Fuzz(func(t *testing.T, blob []byte) {
		h, ok := parseBackupHeader(blob)
		if !ok {
			if _, err := s.openBackup(ctx, blob, password); !fault.Is(err, fault.BackupInvalid) {
				t.Fatalf("unparsed blob: %v", err)
			}
			return
		}
		if len(blob) < backupHeader+device.TagSize || h.iterations < 1 || h.iterations > MaxBackupIterations {
			t.Fatalf("parsed a bad header: %+v", h)
		}
		if h.iterations > fuzzIterations {
			return // too slow to open
		}
		r, err := s.openBackup(ctx, blob, password)
		if err != nil {
			if !fault.Is(err, fault.BackupInvalid) {
				t.Fatalf("error without backup_invalid: %v", err)
			}
			return
		}
		if err := s.checkRestored(ctx, r); err != nil || r.Name != "k" {
			t.Fatalf("opened an invalid record %+v: %v", r, err)
		}
	})
}
