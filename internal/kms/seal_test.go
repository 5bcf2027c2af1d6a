package kms

import (
	"bytes"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/barrier"
	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage/inmem"
)

func TestSealedRefusesEverything(t *testing.T) {
	s, st, _ := newTestService(t)
	mustCreate(t, s, "acme", "k", device.SM4)
	ct := mustEncrypt(t, s, "acme", "k", EncryptRequest{Plaintext: []byte("p")})
	if s.keys.Len() == 0 {
		t.Fatal("nothing cached before sealing")
	}
	s.Sealed()
	if s.keys.Len() != 0 || s.aliases.Len() != 0 {
		t.Fatal("Sealed left cached keys")
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"encrypt", second(s.Encrypt(ctx, "acme", "k", EncryptRequest{Plaintext: []byte("p")}))},
		{"decrypt", second(s.Decrypt(ctx, "acme", "k", DecryptRequest{Ciphertext: ct}))},
		{"encrypt batch", second(s.EncryptBatch(ctx, "acme", "k", []EncryptRequest{{}}))},
		{"create", second(s.Create(ctx, "acme", CreateRequest{Name: "k2", Type: device.SM4}))},
		{"get", second(s.Get(ctx, "acme", "k"))},
		{"list", second(s.List(ctx, "acme", ListOptions{}))},
		{"rotate", second(s.Rotate(ctx, "acme", "k"))},
		{"alias", second(s.CreateAlias(ctx, "acme", "alias:a", "k"))},
		{"list aliases", second(s.ListAliases(ctx, "acme", "", 0))},
		{"public key", second(s.PublicKey(ctx, "acme", "k", 0))},
		{"hash", second(s.Hash(ctx, "acme", []byte("x")))},
		{"random", second(s.Random(ctx, "acme", 16))},
		{"jobs", second(s.RunJobs(ctx, time.Now()))},
	} {
		wantCode(t, tc.name, tc.err, fault.Sealed)
	}
	if err := s.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	if pt, err := s.Decrypt(ctx, "acme", "k", DecryptRequest{Ciphertext: ct}); err != nil || string(pt) != "p" {
		t.Fatalf("after unseal: %q, %v", pt, err)
	}
}

// TestThroughBarrier runs the service over the real barrier: nothing of a
// key reaches the raw store in clear, and sealing the barrier with the core
// order (components first) leaves the service refusing requests.
func TestThroughBarrier(t *testing.T) {
	raw := inmem.New()
	b := barrier.New(raw)
	if err := b.Initialize(ctx, bytes.Repeat([]byte{1}, 16)); err != nil {
		t.Fatal(err)
	}
	s := New(sharedDevice)
	if err := s.Unsealed(ctx, b); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "acme", "k", device.SM4)
	material := rawMaterial(t, b, "acme", "k", 1)
	paths, err := raw.List(ctx, "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		v, _ := raw.Get(ctx, p)
		if bytes.Contains(v, material) || bytes.Contains(v, []byte(`"material"`)) {
			t.Fatalf("raw entry %s holds the key record in clear", p)
		}
	}
	ct := mustEncrypt(t, s, "acme", "k", EncryptRequest{Plaintext: []byte("p")})
	s.Sealed()
	b.Seal()
	_, err = s.Decrypt(ctx, "acme", "k", DecryptRequest{Ciphertext: ct})
	wantCode(t, "decrypt while sealed", err, fault.Sealed)
}
