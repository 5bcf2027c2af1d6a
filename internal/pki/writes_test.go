package pki

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage/paths"
	"github.com/mimacrypto/mima/internal/storage/storagetest"
)

// guard bounds how long a test waits for work that must not block; it is a
// failure deadline, never a measurement.
const guard = 30 * time.Second

// node returns another PKI service over the env's store and key service,
// as a second node of a cluster.
func (e *env) node(t testing.TB) *Service {
	t.Helper()
	s := New(e.keys, WithClock(e.clock.Now), WithPBKDF2Iterations(1000))
	if err := s.Unsealed(ctx, e.store); err != nil {
		t.Fatal(err)
	}
	return s
}

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
	sign := func(cn string) func() error {
		return func() error {
			der, _ := newCSR(t, cn)
			_, err := e.s.SignCSR(ctx, tenant, "r", SignCSRRequest{CSR: der})
			return err
		}
	}
	st.Proceeds(t, sign("held"), sign("free"), "an issuance waited for another held in the store")
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

// TestCAWritesDoNotWait: while one CA's revocation is held inside the
// store (reading its CRL) and another CA's creation too (finding its name
// free), a third CA is created, gets a profile, and revokes a
// certificate: CA writes take no service-wide lock.
func TestCAWritesDoNotWait(t *testing.T) {
	e := newEnv(t)
	e.root(t, "a")
	c, _ := e.signCSR(t, "a", "leaf")
	revoking := storagetest.Park(e.store, func(key string, found bool) bool { return found && key == crlPath(tenant, "a") })
	creating := storagetest.Park(revoking, func(key string, found bool) bool {
		return !found && key == paths.CA{Tenant: tenant, Name: "held"}.String()
	})
	if err := e.s.Unsealed(ctx, creating); err != nil {
		t.Fatal(err)
	}
	held := make(chan error, 2)
	go func() {
		_, err := e.s.Revoke(ctx, tenant, c.Serial, KeyCompromise)
		held <- err
	}()
	<-revoking.Parked
	go func() {
		_, err := e.s.CreateRoot(ctx, tenant, CreateCARequest{Name: "held", Subject: Name{CommonName: "held"}})
		held <- err
	}()
	select {
	case <-creating.Parked:
	case <-time.After(guard):
		t.Fatal("a CA creation waited for a revocation under another CA held in the store")
	}
	done := make(chan error, 1)
	go func() {
		if _, err := e.s.CreateRoot(ctx, tenant, CreateCARequest{Name: "free", Subject: Name{CommonName: "free"}}); err != nil {
			done <- err
			return
		}
		p := webProfile
		if _, err := e.s.SetProfile(ctx, tenant, "free", p); err != nil {
			done <- err
			return
		}
		leaf, _ := e.signCSR(t, "free", "other")
		_, err := e.s.Revoke(ctx, tenant, leaf.Serial, Superseded)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(guard):
		t.Fatal("writes of one CA waited for writes of others held in the store")
	}
	revoking.Release()
	creating.Release()
	for range 2 {
		if err := <-held; err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := crlReasons(e.crlOf(t, "a"))[c.Serial]; !ok {
		t.Fatalf("the held revocation of %s is not on the CRL", c.Serial)
	}
}

// TestConcurrentRevocationsCRLComplete: certificates of one CA revoked
// at once on two nodes are all on its CRL.
func TestConcurrentRevocationsCRLComplete(t *testing.T) {
	e := newEnv(t)
	e.root(t, "r")
	nodes := []*Service{e.s, e.node(t)}
	const n = 12
	serials := make([]string, n)
	for i := range serials {
		c, _ := e.signCSR(t, "r", "leaf")
		serials[i] = c.Serial
	}
	var wg sync.WaitGroup
	for i, sn := range serials {
		wg.Go(func() {
			if _, err := nodes[i%2].Revoke(ctx, tenant, sn, KeyCompromise); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	listed := crlReasons(e.crlOf(t, "r"))
	for _, sn := range serials {
		if _, ok := listed[sn]; !ok {
			t.Errorf("revoked certificate %s is not on the CRL", sn)
		}
	}
}

// TestConcurrentCACreation: of two nodes creating one CA at once exactly
// one succeeds.
func TestConcurrentCACreation(t *testing.T) {
	e := newEnv(t)
	nodes := []*Service{e.s, e.node(t)}
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = nodes[i%2].CreateRoot(ctx, tenant, CreateCARequest{Name: "r", Subject: Name{CommonName: "r"}})
		})
	}
	wg.Wait()
	created := 0
	for _, err := range errs {
		switch {
		case err == nil:
			created++
		case !fault.Is(err, fault.AlreadyExists):
			t.Fatal(err)
		}
	}
	if created != 1 {
		t.Fatalf("%d concurrent creations of one CA succeeded, want 1", created)
	}
}
