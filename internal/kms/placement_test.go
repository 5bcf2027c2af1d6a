package kms

import (
	"bytes"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/device/pool"
	"github.com/mimacrypto/mima/internal/fault"
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
