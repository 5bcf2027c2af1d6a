package kms

import (
	"fmt"
	"sync"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

func TestHotPathReadsStorageOnce(t *testing.T) {
	s, st, _ := newTestService(t)
	mustCreate(t, s, "acme", "k", device.SM4)
	mustCreate(t, s, "acme", "signer", device.SM2)
	if _, err := s.CreateAlias(ctx, "acme", "alias:a", "k"); err != nil {
		t.Fatal(err)
	}
	ct := mustEncrypt(t, s, "acme", "alias:a", EncryptRequest{Plaintext: []byte("p")})
	if _, err := s.Sign(ctx, "acme", "signer", SignRequest{Input: []byte("m")}); err != nil {
		t.Fatal(err)
	}
	before := st.gets.Load()
	for range 50 {
		mustEncrypt(t, s, "acme", "k", EncryptRequest{Plaintext: []byte("p")})
		mustEncrypt(t, s, "acme", "alias:a", EncryptRequest{Plaintext: []byte("p")})
		if _, err := s.Decrypt(ctx, "acme", "k", DecryptRequest{Ciphertext: ct}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Sign(ctx, "acme", "signer", SignRequest{Input: []byte("m")}); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.gets.Load() - before; n != 0 {
		t.Fatalf("cached operations read storage %d times", n)
	}

	// Changes are visible at once.
	if _, err := s.Rotate(ctx, "acme", "k"); err != nil {
		t.Fatal(err)
	}
	if ct := mustEncrypt(t, s, "acme", "alias:a", EncryptRequest{Plaintext: []byte("p")}); ct[:8] != "mima:v2:" {
		t.Fatalf("after rotation encrypted with %s", ct[:8])
	}
	if _, err := s.Disable(ctx, "acme", "k"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Encrypt(ctx, "acme", "k", EncryptRequest{Plaintext: []byte("p")})
	wantCode(t, "after disable", err, fault.KeyDisabled)
}

func TestCacheIsBounded(t *testing.T) {
	s, _, _ := newTestService(t, WithCacheSize(5))
	for i := range 20 {
		mustCreate(t, s, "acme", fmt.Sprintf("k%d", i), device.SM4)
	}
	for round := range 2 {
		for i := range 20 {
			ct := mustEncrypt(t, s, "acme", fmt.Sprintf("k%d", i), EncryptRequest{Plaintext: []byte("p")})
			if _, err := s.Decrypt(ctx, "acme", fmt.Sprintf("k%d", i), DecryptRequest{Ciphertext: ct}); err != nil {
				t.Fatalf("round %d key %d: %v", round, i, err)
			}
			if n := s.keys.Len(); n > 5 {
				t.Fatalf("%d cached keys, bound 5", n)
			}
		}
	}
}

// TestForget plays two nodes over one store: a change made on one is
// seen by the other after Forget.
func TestForget(t *testing.T) {
	a, st, _ := newTestService(t)
	b := New(sharedDevice)
	if err := b.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, a, "acme", "k", device.SM4)
	mustCreate(t, a, "acme", "k2", device.SM4)
	if _, err := a.CreateAlias(ctx, "acme", "alias:x", "k"); err != nil {
		t.Fatal(err)
	}
	mustEncrypt(t, b, "acme", "alias:x", EncryptRequest{Plaintext: []byte("p")}) // b caches k and the alias
	if _, err := a.Rotate(ctx, "acme", "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UpdateAlias(ctx, "acme", "alias:x", "k2"); err != nil {
		t.Fatal(err)
	}
	if ct := mustEncrypt(t, b, "acme", "k", EncryptRequest{Plaintext: []byte("p")}); ct[:8] != "mima:v1:" {
		t.Fatalf("b saw the rotation without an invalidation: %s", ct[:8])
	}
	b.Forget("t/acme/keys/k")
	if ct := mustEncrypt(t, b, "acme", "k", EncryptRequest{Plaintext: []byte("p")}); ct[:8] != "mima:v2:" {
		t.Fatalf("after Forget b encrypts with %s", ct[:8])
	}
	b.Forget("t/acme/aliases/x")
	ct := mustEncrypt(t, b, "acme", "alias:x", EncryptRequest{Plaintext: []byte("p")})
	if _, err := a.Decrypt(ctx, "acme", "k2", DecryptRequest{Ciphertext: ct}); err != nil {
		t.Fatalf("after Forget the alias still points to the old key: %v", err)
	}
}

// TestConcurrentUseAndChange races crypto operations against rotations,
// invalidations and evictions (run with -race): every ciphertext made must
// decrypt.
func TestConcurrentUseAndChange(t *testing.T) {
	s, _, _ := newTestService(t, WithCacheSize(2))
	for i := range 4 {
		mustCreate(t, s, "acme", fmt.Sprintf("k%d", i), device.SM4)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				key := fmt.Sprintf("k%d", (w+i)%4)
				ct, err := s.Encrypt(ctx, "acme", key, EncryptRequest{Plaintext: []byte(key)})
				if err != nil {
					t.Error(err)
					return
				}
				if pt, err := s.Decrypt(ctx, "acme", key, DecryptRequest{Ciphertext: ct}); err != nil || string(pt) != key {
					t.Errorf("%s: %q, %v", key, pt, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 20 {
			if _, err := s.Rotate(ctx, "acme", fmt.Sprintf("k%d", i%4)); err != nil {
				t.Error(err)
				return
			}
			s.Forget(fmt.Sprintf("t/acme/keys/k%d", (i+1)%4))
		}
	})
	wg.Wait()
	if n := s.keys.Len(); n > 2 {
		t.Fatalf("%d cached keys, bound 2", n)
	}
}
