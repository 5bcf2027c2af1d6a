package storage_test

import (
	"context"
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
	if got, err := s.Backend(); err != nil || got != storage.Backend(st) || c.n != 1 {
		t.Fatalf("after Unsealed: %v, %v, %d purges", got, err, c.n)
	}
	s.Sealed()
	if _, err := s.Backend(); !fault.Is(err, fault.Sealed) || c.n != 2 {
		t.Fatalf("after Sealed: %v, %d purges", err, c.n)
	}
}
