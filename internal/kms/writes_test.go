package kms

import (
	"sync"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage/inmem"
	"github.com/mimacrypto/mima/internal/storage/paths"
	"github.com/mimacrypto/mima/internal/storage/storagetest"
)

// TestWritesToOtherKeysDoNotWait: while one key's creation is held inside
// the store, creating, rotating and encrypting with other keys completes:
// the service takes no service-wide write lock.
func TestWritesToOtherKeysDoNotWait(t *testing.T) {
	c := clocktest.New(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	st := storagetest.Park(inmem.New(), func(key string, _ bool) bool { return key == paths.Key{Tenant: "acme", Name: "held"}.String() })
	s := New(sharedDevice, WithClock(c.Now))
	if err := s.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "acme", "other", device.SM4)
	st.Proceeds(t, func() error {
		_, err := s.Create(ctx, "acme", CreateRequest{Name: "held", Type: device.SM4})
		return err
	}, func() error {
		if _, err := s.Create(ctx, "acme", CreateRequest{Name: "free", Type: device.SM4}); err != nil {
			return err
		}
		if _, err := s.Rotate(ctx, "acme", "other"); err != nil {
			return err
		}
		_, err := s.Encrypt(ctx, "acme", "free", EncryptRequest{Plaintext: []byte("x")})
		return err
	}, "writes to other keys waited for a write held in the store")
}

// TestConcurrentCreatesAndRotations: of concurrent creators of one name
// exactly one succeeds, and concurrent rotations each add one version.
func TestConcurrentCreatesAndRotations(t *testing.T) {
	s, _, _ := newTestService(t)
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := s.Create(ctx, "acme", CreateRequest{Name: "k", Type: device.SM4})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	created := 0
	for err := range errs {
		if err == nil {
			created++
		} else if !fault.Is(err, fault.AlreadyExists) {
			t.Fatal(err)
		}
	}
	if created != 1 {
		t.Fatalf("%d concurrent creations of one name succeeded, want 1", created)
	}
	for range n {
		wg.Go(func() {
			if _, err := s.Rotate(ctx, "acme", "k"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	ki, err := s.Get(ctx, "acme", "k")
	if err != nil {
		t.Fatal(err)
	}
	if ki.LatestVersion != n+1 {
		t.Fatalf("latest version %d after %d rotations, want %d", ki.LatestVersion, n, n+1)
	}
}
