package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/inmem"
)

type counter struct{ n int }

func (c *counter) Purge() { c.n++ }

// TestSlot: sealed until unsealed, the store once unsealed, sealed again
// after a seal; each transition purges the registered caches.
func TestSlot(t *testing.T) {
	var s storage.Slot
	c := new(counter)
	s.Purges(c)
	if _, err := s.Backend(); !fault.Is(err, fault.Sealed) {
		t.Fatalf("a new slot: %v", err)
	}
	st := inmem.New()
	if err := s.Unsealed(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	got, err := s.Backend()
	if err != nil || c.n != 1 {
		t.Fatalf("after Unsealed: %v, %d purges", err, c.n)
	}
	if err := got.Put(context.Background(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := st.Get(context.Background(), "k"); err != nil || string(v) != "v" {
		t.Fatalf("the slot does not serve from the store: %q, %v", v, err)
	}
	s.Sealed()
	if _, err := s.Backend(); !fault.Is(err, fault.Sealed) || c.n != 2 {
		t.Fatalf("after Sealed: %v, %d purges", err, c.n)
	}
}

// broken fails every call.
type broken struct{ storage.Backend }

var errDisk = errors.New("test: disk gone")

func (broken) Get(context.Context, string) ([]byte, error)                 { return nil, errDisk }
func (broken) Put(context.Context, string, []byte) error                   { return errDisk }
func (broken) Delete(context.Context, string) error                        { return errDisk }
func (broken) List(context.Context, string, string, int) ([]string, error) { return nil, errDisk }
func (broken) Batch(context.Context, []storage.Op) error                   { return errDisk }
func (broken) Swap(context.Context, []storage.Cond, []storage.Op) error    { return errDisk }

// TestSlotCodesFailures: through the slot, a failing store answers
// storage_unavailable (its cause kept), while not-found and conflicts,
// which callers test for, pass unchanged.
func TestSlotCodesFailures(t *testing.T) {
	ctx := context.Background()
	var s storage.Slot
	if err := s.Unsealed(ctx, broken{}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Backend()
	if err != nil {
		t.Fatal(err)
	}
	_, getErr := st.Get(ctx, "k")
	_, listErr := st.List(ctx, "", "", 0)
	for i, err := range []error{getErr, listErr, st.Put(ctx, "k", nil), st.Delete(ctx, "k"), st.Batch(ctx, nil), st.Swap(ctx, nil, nil)} {
		if !fault.Is(err, fault.StorageFailure) || !errors.Is(err, errDisk) {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if err := s.Unsealed(ctx, inmem.New()); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Backend()
	if _, err := st.Get(ctx, "absent"); !errors.Is(err, storage.ErrNotFound) || fault.Is(err, fault.StorageFailure) {
		t.Errorf("not found: %v", err)
	}
	err = st.Swap(ctx, []storage.Cond{{Key: "absent", Value: []byte("x")}}, []storage.Op{{Key: "absent"}})
	if !errors.Is(err, storage.ErrConflict) || fault.Is(err, fault.StorageFailure) {
		t.Errorf("conflict: %v", err)
	}
}
