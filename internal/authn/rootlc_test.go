package authn

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage/inmem"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// twoNodes returns two services over one store, as two nodes of a cluster
// whose caches the coherence watcher has not yet purged.
func twoNodes(t *testing.T) (a, b *Service, c *clock, root Issued) {
	t.Helper()
	c = &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	store := inmem.New()
	a = unsealed(store, WithClock(c.now))
	b = unsealed(store, WithClock(c.now))
	root, err := a.Bootstrap(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return a, b, c, root
}

func TestRenewNeverUndoesARevocation(t *testing.T) {
	ctx := context.Background()
	a, b, _, _ := twoNodes(t)
	_, admin, err := a.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	stale := mustAuth(t, a, admin.Token) // node a caches it live
	if err := b.RevokeToken(ctx, "acme", admin.Info.Accessor); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RenewToken(ctx, stale, 0); !fault.Is(err, fault.TokenRevoked) {
		t.Fatalf("renewing a token revoked on another node: %v", err)
	}
	if _, err := b.Authenticate(ctx, admin.Token); !fault.Is(err, fault.TokenRevoked) {
		t.Fatalf("after the refused renewal: %v", err)
	}
}

func TestRenewIsCappedByTheParent(t *testing.T) {
	ctx := context.Background()
	s, c, root := newService(t)
	shortRoot, err := s.IssueRoot(ctx, 10*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A renewable token made by a root token that expires in 10 days.
	tok := &Token{Tenant: DefaultTenant, Policies: []string{AdminPolicy}, Parent: shortRoot.Info.Accessor,
		ExpiresAt: c.t.Add(time.Hour), TTL: AdminTTL, RenewUntil: c.t.Add(MaxTTL)}
	issued, err := s.issue(ctx, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := s.RenewToken(ctx, issued.Info, 0)
	if err != nil || !renewed.ExpiresAt.Equal(shortRoot.Info.ExpiresAt) {
		t.Fatalf("renewed to %v, %v; want the parent's expiry %v", renewed, err, shortRoot.Info.ExpiresAt)
	}
	for _, inc := range []time.Duration{-time.Hour, MaxTTL + time.Hour} {
		if _, err := s.RenewToken(ctx, issued.Info, inc); !fault.Is(err, fault.InvalidArgument) {
			t.Errorf("increment %s: %v", inc, err)
		}
	}
	if _, err := s.RenewToken(ctx, root.Info, 0); !fault.Is(err, fault.InvalidArgument) {
		t.Errorf("renewing the root token: %v", err)
	}
}

func TestOnlyOneOfTwoRootTokensRevokesItself(t *testing.T) {
	ctx := context.Background()
	s, c, root := newService(t)
	second, err := s.IssueRoot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	// An expired root token does not count as another.
	if _, err := s.IssueRoot(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(2 * time.Hour)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, tok := range []*Token{root.Info, second.Info} {
		wg.Go(func() { errs[i] = s.RevokeRoot(ctx, tok) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !fault.Is(err, fault.LastRootToken):
			t.Fatalf("revoke: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of two root tokens revoked themselves: %v", ok, errs)
	}
	if err := s.RevokeRoot(ctx, &Token{Accessor: "x", Tenant: "acme"}); !fault.Is(err, fault.PermissionDenied) {
		t.Fatalf("a tenant token: %v", err)
	}
}

func TestDeleteTenantRefusesTokensMadeDuringIt(t *testing.T) {
	ctx := context.Background()
	a, b, _, _ := twoNodes(t)
	_, admin, err := a.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	adminOnB := mustAuth(t, b, admin.Token)
	if _, err := b.Tenant(ctx, "acme"); err != nil { // b caches the tenant as live
		t.Fatal(err)
	}
	var late error
	release := func(ctx context.Context, tenant string) error {
		// While a deletes, b (stale cache) tries to create a token: its
		// transaction reads the stored tenant, deleted.
		_, late = b.CreateToken(ctx, adminOnB, tenant, TokenRequest{Policies: []string{AdminPolicy}})
		return nil
	}
	if err := a.DeleteTenant(ctx, "acme", release); err != nil {
		t.Fatal(err)
	}
	if !fault.Is(late, fault.TenantNotFound) {
		t.Errorf("a token created during the deletion: %v", late)
	}
	if _, err := a.Authenticate(ctx, admin.Token); !fault.Is(err, fault.TokenRevoked) {
		t.Errorf("admin: %v", err)
	}
	b.Forget(paths.Tenants + "acme")
	if _, err := b.Authenticate(ctx, admin.Token); !fault.Is(err, fault.TokenRevoked) {
		t.Errorf("on b after coherence: %v", err)
	}
}

func TestDeleteTenantResumes(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newService(t)
	_, admin, err := s.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	broken := func(context.Context, string) error { return fault.New(fault.StorageFailure, "disk gone") }
	if err := s.DeleteTenant(ctx, "acme", broken); !fault.Is(err, fault.StorageFailure) {
		t.Fatalf("interrupted deletion: %v", err)
	}
	// Half deleted: the tenant is gone and its tokens refused already.
	if _, err := s.Tenant(ctx, "acme"); !fault.Is(err, fault.TenantNotFound) {
		t.Fatalf("tenant after an interrupted deletion: %v", err)
	}
	if _, err := s.Authenticate(ctx, admin.Token); !fault.Is(err, fault.TokenRevoked) {
		t.Fatalf("admin token after an interrupted deletion: %v", err)
	}
	released := ""
	if err := s.DeleteTenant(ctx, "acme", func(_ context.Context, t string) error { released = t; return nil }); err != nil {
		t.Fatal(err)
	}
	rec, err := s.storedToken(ctx, admin.Info.Accessor)
	if err != nil || rec.RevokedAt.IsZero() || released != "acme" {
		t.Fatalf("after resuming: token %+v, %v; released %q", rec, err, released)
	}
	if _, _, err := s.CreateTenant(ctx, "acme"); !fault.Is(err, fault.AlreadyExists) {
		t.Fatalf("reusing the name: %v", err)
	}
	for _, name := range []string{DefaultTenant, "..", "nosuch"} {
		if err := s.DeleteTenant(ctx, name, broken); err == nil || fault.Is(err, fault.StorageFailure) {
			t.Errorf("deleting %q: %v", name, err)
		}
	}
}
