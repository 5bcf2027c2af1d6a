package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/internal/usage"
	"github.com/mimacrypto/mima/sdk"
)

// TestUsageCountsTenantCalls encrypts with a key and reads the meter by
// operation and by key; another tenant sees none of it, and only the root
// token groups by tenant.
func TestUsageCountsTenantCalls(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 3, 1, 10, 0, 30, 0, time.UTC))
	n := newTestNode(t, WithUsageMeter(usage.New(usage.WithClock(clk.Now))))
	tokA, tokB := n.tenant("tenant-a"), n.tenant("tenant-b")
	if r := n.do("POST", "/v1/keys", tokA, map[string]string{"name": "k1", "type": "sm4"}); r.status != http.StatusCreated {
		t.Fatalf("create key: %d %s", r.status, r.body)
	}
	for range 3 {
		n.do("POST", "/v1/keys/k1/encrypt", tokA, map[string]string{"plaintext": "aGk="})
	}
	n.do("POST", "/v1/keys/absent/encrypt", tokA, map[string]string{"plaintext": "aGk="})
	clk.Advance(time.Minute)

	series := func(token, query string) map[string]sdk.UsageSeries {
		t.Helper()
		r := n.do("GET", "/v1/usage"+query, token, nil)
		if r.status != http.StatusOK {
			t.Fatalf("usage%s: %d %s", query, r.status, r.body)
		}
		var u sdk.Usage
		r.json(t, &u)
		out := map[string]sdk.UsageSeries{}
		for _, s := range u.Series {
			out[s.Name] = s
		}
		return out
	}
	if enc := series(tokA, "?by=operation")["encrypt"]; enc.Count != 4 || enc.Errors != 1 || len(enc.Points) != 1 {
		t.Fatalf("encrypt by operation: %+v", enc)
	}
	// The create and the three encryptions name k1 in the body or the
	// path; the failed call is metered under no key.
	if k := series(tokA, "?by=key"); len(k) != 1 || k["k1"].Count != 4 {
		t.Fatalf("by key: %+v", k)
	}
	if b := series(tokB, "?by=key"); len(b) != 0 {
		t.Fatalf("tenant B sees tenant A's usage: %+v", b)
	}
	if r := n.do("GET", "/v1/usage?by=tenant", tokB, nil); r.status != http.StatusForbidden {
		t.Fatalf("tenant token grouping by tenant: %d %s", r.status, r.body)
	}
	if all := series(n.root, "?by=tenant"); all["tenant-a"].Count == 0 {
		t.Fatalf("root by tenant: %+v", all)
	}
	for _, q := range []string{"?from=yesterday", "?by=colour", "?from=2026-03-01T11:00:00Z&to=2026-03-01T10:00:00Z"} {
		if r := n.do("GET", "/v1/usage"+q, tokA, nil); r.status != http.StatusBadRequest || r.errCode() != "invalid_argument" {
			t.Errorf("usage%s: %d %s", q, r.status, r.body)
		}
	}
}
