package devicetest

import (
	"testing"

	"github.com/mimacrypto/mima/internal/device/kat"
)

// Vectors are the known-answer tests of package kat.
type Vectors = kat.Vectors

// MACVector is one MAC known-answer test.
type MACVector = kat.MACVector

// LoadVectors returns the known-answer tests.
func LoadVectors(t testing.TB) Vectors {
	t.Helper()
	v, err := kat.Load()
	if err != nil {
		t.Fatal(err)
	}
	return v
}
