package pki

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/storage/storagetest"
)

// TestIssuanceDoesNotWait: while one issuance is held inside the store,
// another under the same CA completes: issuers take no service-wide lock.
func TestIssuanceDoesNotWait(t *testing.T) {
	e := newEnv(t)
	e.root(t, "r")
	// Hold the read that finds a fresh serial unused.
	st := storagetest.Park(e.store, func(key string, found bool) bool {
		return !found && strings.HasPrefix(key, certPrefix(tenant))
	})
	if err := e.s.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	held := make(chan error, 1)
	go func() {
		der, _ := newCSR(t, "held")
		_, err := e.s.SignCSR(ctx, tenant, "r", SignCSRRequest{CSR: der})
		held <- err
	}()
	<-st.Parked
	done := make(chan error, 1)
	der, _ := newCSR(t, "free")
	go func() {
		_, err := e.s.SignCSR(ctx, tenant, "r", SignCSRRequest{CSR: der})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second): // a failure deadline, not a measurement
		t.Fatal("an issuance waited for another held in the store")
	}
	st.Release()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentIssuanceUniqueSerials: concurrent issuers all succeed,
// with distinct serials, each stored.
func TestConcurrentIssuanceUniqueSerials(t *testing.T) {
	e := newEnv(t)
	e.root(t, "r")
	const n = 24
	serials := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c, _ := e.signCSR(t, "r", "leaf")
			serials <- c.Serial
		})
	}
	wg.Wait()
	close(serials)
	seen := map[string]bool{}
	for s := range serials {
		if seen[s] {
			t.Fatalf("serial %s issued twice", s)
		}
		seen[s] = true
		if _, err := e.s.GetCertificate(ctx, tenant, s); err != nil {
			t.Fatalf("certificate %s: %v", s, err)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d certificates, want %d", len(seen), n)
	}
}
