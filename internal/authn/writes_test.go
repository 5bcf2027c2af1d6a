package authn

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/inmem"
	"github.com/mimacrypto/mima/internal/storage/paths"
	"github.com/mimacrypto/mima/internal/storage/storagetest"
)

// guard bounds how long a test waits for work that must not block; it is a
// failure deadline, never a measurement.
const guard = 30 * time.Second

// counting counts the reads and the writes that reach a store, and
// refuses writes while failWrites is set.
type counting struct {
	storage.Backend
	reads      atomic.Int64
	writes     atomic.Int64
	failWrites atomic.Bool
}

// errWrite is what counting answers a write while failWrites is set.
var errWrite = errors.New("test: writes refused")

func (c *counting) write() error {
	c.writes.Add(1)
	if c.failWrites.Load() {
		return errWrite
	}
	return nil
}

func (c *counting) Put(ctx context.Context, key string, value []byte) error {
	if err := c.write(); err != nil {
		return err
	}
	return c.Backend.Put(ctx, key, value)
}

func (c *counting) Delete(ctx context.Context, key string) error {
	if err := c.write(); err != nil {
		return err
	}
	return c.Backend.Delete(ctx, key)
}

func (c *counting) Batch(ctx context.Context, ops []storage.Op) error {
	if err := c.write(); err != nil {
		return err
	}
	return c.Backend.Batch(ctx, ops)
}

func (c *counting) Swap(ctx context.Context, conds []storage.Cond, ops []storage.Op) error {
	if err := c.write(); err != nil {
		return err
	}
	return c.Backend.Swap(ctx, conds, ops)
}

func (c *counting) Get(ctx context.Context, key string) ([]byte, error) {
	c.reads.Add(1)
	return c.Backend.Get(ctx, key)
}

func (c *counting) List(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	c.reads.Add(1)
	return c.Backend.List(ctx, prefix, after, limit)
}

// TestWarmCacheReadsNothing: once a token, its ancestors, its tenant and
// its policies have been read, authenticating and authorising it again
// reads nothing from the store, even when one of its policies is gone.
func TestWarmCacheReadsNothing(t *testing.T) {
	ctx := context.Background()
	st := &counting{Backend: inmem.New()}
	s := unsealed(st, WithOperations([]string{"encrypt", "decrypt"}))
	root, err := s.Bootstrap(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"use", "gone"} {
		p := Policy{Name: name, Rules: []Rule{{Operations: []string{"encrypt"}, Objects: []string{name}}}}
		if _, err := s.PutPolicy(ctx, root.Info, "acme", p); err != nil {
			t.Fatal(err)
		}
	}
	parent, err := s.CreateToken(ctx, root.Info, "acme", TokenRequest{Policies: []string{AdminPolicy}})
	if err != nil {
		t.Fatal(err)
	}
	child, err := s.CreateToken(ctx, parent.Info, "acme", TokenRequest{Policies: []string{"gone", "use"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePolicy(ctx, "acme", "gone"); err != nil {
		t.Fatal(err)
	}
	s.Purge() // cold, as after a coherence recheck
	decide := func() {
		t.Helper()
		tok := mustAuth(t, s, child.Token)
		if err := s.Authorize(ctx, tok, "acme", "encrypt", "use"); err != nil {
			t.Fatal(err)
		}
		if err := s.Authorize(ctx, tok, "acme", "decrypt", "use"); !fault.Is(err, fault.PermissionDenied) {
			t.Fatalf("decrypt: %v", err)
		}
	}
	decide()
	before, wrote := st.reads.Load(), st.writes.Load()
	decide()
	if n := st.reads.Load() - before; n != 0 {
		t.Fatalf("a warm authentication and authorisation read the store %d times", n)
	}
	if n := st.writes.Load() - wrote; n != 0 {
		t.Fatalf("a warm authentication and authorisation wrote the store %d times", n)
	}
	// A policy created again on another node reaches the cache through
	// coherence, which forgets the path.
	other := unsealed(st.Backend, WithOperations([]string{"encrypt", "decrypt"}))
	p := Policy{Name: "gone", Rules: []Rule{{Operations: []string{"decrypt"}, Objects: []string{"use"}}}}
	if _, err := other.PutPolicy(ctx, root.Info, "acme", p); err != nil {
		t.Fatal(err)
	}
	s.Forget(paths.Policies("acme") + "gone")
	if err := s.Authorize(ctx, mustAuth(t, s, child.Token), "acme", "decrypt", "use"); err != nil {
		t.Fatalf("after the policy came back: %v", err)
	}
}

// TestRenewAndRevokeDoNotWait: while a renewal is held inside the store,
// a revocation of the same token completes, and the renewal, resumed,
// does not write the token back live.
func TestRenewAndRevokeDoNotWait(t *testing.T) {
	ctx := context.Background()
	base := inmem.New()
	boot := unsealed(base)
	if _, err := boot.Bootstrap(ctx, 0); err != nil {
		t.Fatal(err)
	}
	_, admin, err := boot.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	st := storagetest.Park(base, func(key string, found bool) bool { return found && key == paths.Tokens+admin.Info.Accessor })
	s := unsealed(st)
	renewed := make(chan error, 1)
	go func() {
		_, err := s.RenewToken(ctx, admin.Info, 0)
		renewed <- err
	}()
	<-st.Parked
	revoked := make(chan error, 1)
	go func() { revoked <- s.RevokeToken(ctx, "acme", admin.Info.Accessor) }()
	select {
	case err := <-revoked:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(guard):
		t.Fatal("a revocation waited for a renewal held in the store")
	}
	st.Release()
	if err := <-renewed; !fault.Is(err, fault.TokenRevoked) {
		t.Fatalf("renewal resumed after the revocation: %v", err)
	}
	if tok, err := boot.storedToken(ctx, admin.Info.Accessor); err != nil || tok.RevokedAt.IsZero() {
		t.Fatalf("stored token after both: %+v, %v", tok, err)
	}
}

// TestNoLiveChildOfARevokedToken: a node whose cache still holds a token
// live after another node revoked it cannot store a live child of it: the
// child's creation is conditioned on the stored parent.
func TestNoLiveChildOfARevokedToken(t *testing.T) {
	ctx := context.Background()
	a, b, _, _ := twoNodes(t)
	_, admin, err := a.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	stale := mustAuth(t, a, admin.Token)
	if err := b.RevokeToken(ctx, "acme", admin.Info.Accessor); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateToken(ctx, stale, "acme", TokenRequest{Policies: []string{AdminPolicy}}); !fault.Is(err, fault.TokenRevoked) {
		t.Fatalf("a child of a token revoked on another node: %v", err)
	}
	page, err := b.ListTokens(ctx, "acme", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range page.Tokens {
		if tok.RevokedAt.IsZero() {
			t.Fatalf("token %s of the revoked tree is stored live", tok.Accessor)
		}
	}
}

// TestRootRevocationDoesNotWait: while one root token's self-revocation
// is held after finding another live root token, that other one revokes
// itself; the held one, resumed, finds itself the last and is refused.
func TestRootRevocationDoesNotWait(t *testing.T) {
	ctx := context.Background()
	base := inmem.New()
	boot := unsealed(base)
	first, err := boot.Bootstrap(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	second, err := boot.IssueRoot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	st := storagetest.Park(base, func(key string, found bool) bool { return found && key == paths.Tokens+second.Info.Accessor })
	s := unsealed(st)
	held := make(chan error, 1)
	go func() { held <- s.RevokeRoot(ctx, first.Info) }()
	<-st.Parked
	done := make(chan error, 1)
	go func() { done <- s.RevokeRoot(ctx, second.Info) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(guard):
		t.Fatal("a root token's revocation waited for another's")
	}
	st.Release()
	if err := <-held; !fault.Is(err, fault.LastRootToken) {
		t.Fatalf("the held revocation, resumed: %v", err)
	}
	if _, err := boot.Authenticate(ctx, first.Token); err != nil {
		t.Fatalf("the last root token: %v", err)
	}
}

// TestConcurrentTenantCreation: of concurrent creators of one tenant
// exactly one succeeds, and only its admin token is stored.
func TestConcurrentTenantCreation(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newService(t)
	const n = 16
	var (
		wg      sync.WaitGroup
		created atomic.Int32
	)
	for range n {
		wg.Go(func() {
			_, _, err := s.CreateTenant(ctx, "acme")
			switch {
			case err == nil:
				created.Add(1)
			case !fault.Is(err, fault.AlreadyExists):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if created.Load() != 1 {
		t.Fatalf("%d concurrent creations of one tenant succeeded, want 1", created.Load())
	}
	page, err := s.ListTokens(ctx, "acme", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Tokens) != 1 || !strings.Contains(page.Tokens[0].DisplayName, "admin") {
		t.Fatalf("tokens of the tenant: %+v", page.Tokens)
	}
}
