package storage_test

import (
	"testing"

	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/inmem"
)

// TestSlot: empty until set, the store once set, empty again after a seal.
func TestSlot(t *testing.T) {
	var s storage.Slot
	if _, ok := s.Get(); ok {
		t.Fatal("a new slot holds a store")
	}
	st := inmem.New()
	s.Set(st)
	if got, ok := s.Get(); !ok || got != storage.Backend(st) {
		t.Fatalf("after Set: %v, %v", got, ok)
	}
	s.Set(nil)
	if _, ok := s.Get(); ok {
		t.Fatal("a sealed slot holds a store")
	}
}
