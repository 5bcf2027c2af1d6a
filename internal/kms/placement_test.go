package kms

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/device/pool"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/inmem"
)

// TestPlacement: a key created with Device lives on that device of the
// pool, says so, and keeps it across rotation; a device the service does
// not have is the caller's mistake and creates nothing.
func TestPlacement(t *testing.T) {
	p, err := pool.New([]pool.Member{
		{Name: "soft0", Type: "software", Device: device.NewSoftware()},
		{Name: "hsm0", Type: "other", Device: device.NewSoftware()},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := New(p)
	st := inmem.New()
	if err := s.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	ki := mustCreate(t, s, "t1", "k", device.SM4, func(r *CreateRequest) { r.Device = "hsm0" })
	if ki.Device != "hsm0" {
		t.Fatalf("key info names device %q", ki.Device)
	}
	if _, err := s.Rotate(ctx, "t1", "k"); err != nil {
		t.Fatal(err)
	}
	r, err := loadRecord(ctx, st, "t1", "k", "k")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range r.Versions {
		if !bytes.Contains(v.Material, []byte(`"on":"hsm0"`)) {
			t.Fatalf("version %d is not on hsm0", v.Version)
		}
	}
	if _, err := s.Encrypt(ctx, "t1", "k", EncryptRequest{Plaintext: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Create(ctx, "t1", CreateRequest{Name: "k2", Type: device.SM4, Device: "nope"})
	wantCode(t, "unknown device", err, fault.InvalidArgument)
	if _, err := s.Get(ctx, "t1", "k2"); err == nil {
		t.Fatal("a refused creation left a key")
	}
}

// TestPlacementNeedsAPool: a single device has no devices to choose.
func TestPlacementNeedsAPool(t *testing.T) {
	s, _, _ := newTestService(t)
	_, err := s.Create(ctx, "t1", CreateRequest{Name: "k", Type: device.SM4, Device: "hsm0"})
	wantCode(t, "placement without a pool", err, fault.InvalidArgument)
}

// TestRestoreKeepsPlacement: a key restored from a backup goes back on the
// device it was placed on when this service has it, and says so; a
// service without that device restores it where it can and names none.
func TestRestoreKeepsPlacement(t *testing.T) {
	p, err := pool.New([]pool.Member{
		{Name: "soft0", Type: "software", Device: device.NewSoftware()},
		{Name: "soft1", Type: "software", Device: device.NewSoftware()},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := New(p)
	if err := s.Unsealed(ctx, inmem.New()); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "t1", "k", device.HMACSM3, func(r *CreateRequest) { r.Device, r.Exportable = "soft1", true })
	pw := []byte("a long enough password")
	blob, err := s.Backup(ctx, "t1", "k", BackupRequest{Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	ki, err := s.Restore(ctx, "t2", RestoreRequest{Blob: blob, Password: pw})
	if err != nil || ki.Device != "soft1" {
		t.Fatalf("restored into the pool: %+v, %v", ki, err)
	}
	r, err := loadRecord(ctx, s.mustStore(t), "t2", "k", "k")
	if err != nil || !bytes.Contains(r.Versions[0].Material, []byte(`"on":"soft1"`)) {
		t.Fatalf("the restored version is not on soft1 (%v)", err)
	}
	single, _, _ := newTestService(t)
	if ki, err := single.Restore(ctx, "t1", RestoreRequest{Blob: blob, Password: pw}); err != nil || ki.Device != "" {
		t.Fatalf("restored onto a single device: %+v, %v", ki, err)
	}
}

func (s *Service) mustStore(t *testing.T) storage.Backend {
	t.Helper()
	st, err := s.store.Backend()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// tenantRecorder records the tenant that each Generate, Unwrap and
// Restore is told of (device.WithTenant).
type tenantRecorder struct {
	*device.Software
	mu   sync.Mutex
	seen []string
}

func (d *tenantRecorder) note(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen = append(d.seen, device.TenantOf(ctx))
}

func (d *tenantRecorder) Generate(ctx context.Context, t device.KeyType) ([]byte, error) {
	d.note(ctx)
	return d.Software.Generate(ctx, t)
}

func (d *tenantRecorder) Unwrap(ctx context.Context, wk device.Key, t device.KeyType, w []byte) ([]byte, error) {
	d.note(ctx)
	return d.Software.Unwrap(ctx, wk, t, w)
}

func (d *tenantRecorder) Restore(ctx context.Context, t device.KeyType, b []byte) ([]byte, error) {
	d.note(ctx)
	return d.Software.Restore(ctx, t, b)
}

// TestDeviceSeesTheTenant: every key the service makes, rotates, imports
// or restores is made on the device for its tenant (a PKCS#11 device keeps
// tenants' keys apart by it).
func TestDeviceSeesTheTenant(t *testing.T) {
	dev := &tenantRecorder{Software: device.NewSoftware()}
	s := New(dev)
	if err := s.Unsealed(ctx, inmem.New()); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "t1", "k", device.SM4, func(r *CreateRequest) { r.Exportable = true })
	if _, err := s.Rotate(ctx, "t1", "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportParams(ctx, "t1", "k"); err != nil {
		t.Fatal(err)
	}
	pw := []byte("a long enough password")
	blob, err := s.Backup(ctx, "t1", "k", BackupRequest{Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Restore(ctx, "t2", RestoreRequest{Blob: blob, Password: pw}); err != nil {
		t.Fatal(err)
	}
	want := []string{"t1", "t1", "t1", "t2", "t2"}
	if !slices.Equal(dev.seen, want) {
		t.Fatalf("tenants the device saw: %q, want %q", dev.seen, want)
	}
}
