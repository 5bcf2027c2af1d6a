package authn

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
)

// TestListAndTidyTokens: a tenant lists its own tokens, live or not;
// tidying deletes those ended more than TokenRetention ago, a parent only
// once its children are gone, and keeps live ones.
func TestListAndTidyTokens(t *testing.T) {
	s, c, root := newService(t)
	ctx := context.Background()
	_, admin, _ := s.CreateTenant(ctx, "acme")
	s.CreateTenant(ctx, "other")
	adminTok := mustAuth(t, s, admin.Token)
	create := func(parent *Token, ttl time.Duration) Issued {
		t.Helper()
		tok, err := s.CreateToken(ctx, parent, "acme", TokenRequest{Policies: []string{AdminPolicy}, TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	keeper := create(mustAuth(t, s, root.Token), MaxTTL) // the admin token's children end with it, in 30 days
	parent := create(adminTok, time.Hour)
	child := create(mustAuth(t, s, parent.Token), 2*time.Hour)
	revoked := create(adminTok, MaxTTL)
	if err := s.RevokeToken(ctx, "acme", revoked.Info.Accessor); err != nil {
		t.Fatal(err)
	}
	// Pages of two: the pages together hold each token once, in order.
	accessors := func(tenant string) []string {
		t.Helper()
		var out []string
		for after := ""; ; {
			page, err := s.ListTokens(ctx, tenant, after, 2)
			if err != nil || len(page.Tokens) > 2 {
				t.Fatalf("page after %q: %d tokens, %v", after, len(page.Tokens), err)
			}
			for _, tok := range page.Tokens {
				out = append(out, tok.Accessor)
			}
			if after = page.Next; after == "" {
				return out
			}
		}
	}
	want := []string{admin.Info.Accessor, keeper.Info.Accessor, parent.Info.Accessor, child.Info.Accessor, revoked.Info.Accessor}
	slices.Sort(want)
	if got := accessors("acme"); !slices.Equal(got, want) {
		t.Fatalf("acme lists %v, want %v", got, want)
	}
	for _, bad := range []struct {
		after string
		limit int
	}{{"", -1}, {"", MaxTokenListLimit + 1}, {"../x", 1}} {
		if _, err := s.ListTokens(ctx, "acme", bad.after, bad.limit); !fault.Is(err, fault.InvalidArgument) {
			t.Errorf("list after %q limit %d: %v", bad.after, bad.limit, err)
		}
	}
	if got := accessors("other"); slices.ContainsFunc(got, func(a string) bool { return slices.Contains(want, a) }) {
		t.Fatalf("another tenant lists acme's tokens: %v", got)
	}

	if n, err := s.TidyTokens(ctx, c.now()); err != nil || n != 0 {
		t.Fatalf("tidy at once: %d, %v", n, err)
	}
	// 30 days and 90 minutes on, the revoked token, the parent and its
	// child (whose 2 hours were cut to its parent's hour) are past
	// retention. A parent seen before its child waits for the next run.
	c.t = c.t.Add(TokenRetention + 90*time.Minute)
	first, err := s.TidyTokens(ctx, c.now())
	if err != nil || first < 2 {
		t.Fatalf("tidy: %d, %v", first, err)
	}
	second, err := s.TidyTokens(ctx, c.now())
	if err != nil || first+second != 3 {
		t.Fatalf("tidy again: %d then %d, %v", first, second, err)
	}
	want = []string{admin.Info.Accessor, keeper.Info.Accessor}
	slices.Sort(want)
	if got := accessors("acme"); !slices.Equal(got, want) {
		t.Fatalf("after tidying, acme lists %v, want the admin and live tokens %v", got, want)
	}
	if _, err := s.Authenticate(ctx, revoked.Token); !fault.Is(err, fault.Unauthenticated) {
		t.Fatalf("a tidied token: %v", err)
	}
	mustAuth(t, s, keeper.Token)
}
