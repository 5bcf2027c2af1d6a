package kms

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/inmem"
)

var ctx = context.Background()

// countingStore counts reads, to prove the hot path does not read storage.
type countingStore struct {
	storage.Backend
	gets atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, key string) ([]byte, error) {
	c.gets.Add(1)
	return c.Backend.Get(ctx, key)
}

// sharedDevice saves creating a DRBG per test.
var sharedDevice = device.NewSoftware()

// newTestService returns an unsealed service over a fresh in-memory store.
func newTestService(t testing.TB, opts ...Option) (*Service, *countingStore, *clocktest.Clock) {
	t.Helper()
	c := clocktest.New(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	s := New(sharedDevice, append([]Option{WithClock(c.Now)}, opts...)...)
	st := &countingStore{Backend: inmem.New()}
	if err := s.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	return s, st, c
}

func mustCreate(t testing.TB, s *Service, tenant, name string, typ device.KeyType, mods ...func(*CreateRequest)) KeyInfo {
	t.Helper()
	req := CreateRequest{Name: name, Type: typ}
	for _, m := range mods {
		m(&req)
	}
	ki, err := s.Create(ctx, tenant, req)
	if err != nil {
		t.Fatalf("create %s/%s: %v", tenant, name, err)
	}
	return ki
}

func derived(r *CreateRequest) { r.Derived = true }

// wantCode fails unless err carries code.
func wantCode(t testing.TB, what string, err error, code fault.Code) {
	t.Helper()
	if !fault.Is(err, code) {
		t.Errorf("%s: got %v, want code %s", what, err, code)
	}
}

func mustEncrypt(t testing.TB, s *Service, tenant, key string, req EncryptRequest) string {
	t.Helper()
	ct, err := s.Encrypt(ctx, tenant, key, req)
	if err != nil {
		t.Fatalf("encrypt with %s: %v", key, err)
	}
	return ct
}

// rawMaterial reads the stored material of a key version.
func rawMaterial(t testing.TB, st storage.Backend, tenant, name string, v int) []byte {
	t.Helper()
	r, err := loadRecord(ctx, st, tenant, name, name)
	if err != nil {
		t.Fatal(err)
	}
	return r.Versions[v-1].Material
}
