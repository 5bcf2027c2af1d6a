package kms

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/mimacrypto/mima/internal/fault"
)

func TestHash(t *testing.T) {
	s, _, _ := newTestService(t)
	for _, tc := range []struct{ in, want string }{
		// GB/T 32905-2016 Appendix A, examples 1 and 2.
		{"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"},
		{string(bytes.Repeat([]byte("abcd"), 16)), "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"},
	} {
		got, err := s.Hash(ctx, "acme", []byte(tc.in))
		if err != nil || hex.EncodeToString(got) != tc.want {
			t.Errorf("Hash(%.8q) = %x, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	_, err := s.Hash(ctx, "Not/A/Tenant", nil)
	wantCode(t, "invalid tenant", err, fault.InvalidArgument)
}

func TestRandom(t *testing.T) {
	s, _, _ := newTestService(t)
	a, err := s.Random(ctx, "acme", 32)
	if err != nil || len(a) != 32 {
		t.Fatalf("Random(32) = %d bytes, %v", len(a), err)
	}
	b, _ := s.Random(ctx, "acme", 32)
	if bytes.Equal(a, b) {
		t.Fatal("two random reads are equal")
	}
	if big, err := s.Random(ctx, "acme", MaxRandom); err != nil || len(big) != MaxRandom {
		t.Fatalf("Random(MaxRandom) = %d bytes, %v", len(big), err)
	}
	for _, n := range []int{0, -1, MaxRandom + 1} {
		_, err := s.Random(ctx, "acme", n)
		wantCode(t, "Random size", err, fault.InvalidArgument)
	}
}
