package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/internal/ratelimit"
	"github.com/mimacrypto/mima/sdk"
)

// TestChallengeUnknownTenant checks that no challenge is made, and none
// of any tenant's budget spent, for a tenant that does not exist.
func TestChallengeUnknownTenant(t *testing.T) {
	n := newTestNode(t)
	n.tenant("acme")
	r := n.do("POST", "/v1/auth/challenge", "", map[string]string{"tenant": "nosuch"})
	if r.status != http.StatusNotFound || r.errCode() != "tenant_not_found" {
		t.Errorf("challenge for an unknown tenant: %d %s", r.status, r.body)
	}
	if r := n.do("POST", "/v1/auth/challenge", "", map[string]string{"tenant": "acme"}); r.status != http.StatusOK {
		t.Errorf("challenge for acme: %d %s", r.status, r.body)
	}
}

// publicNode is a test node whose public routes allow each client two
// requests at once and one a second, behind a proxy at 127.0.0.1 that
// names the client in X-Forwarded-For.
// Its second result is the clock of the limiter and the sampler.
func publicNode(t *testing.T) (*testNode, *clocktest.Clock) {
	t.Helper()
	clk := clocktest.New(time.Unix(2_000_000_000, 0))
	n := newTestNode(t, WithPublicRateLimit(ratelimit.New(1, 2, ratelimit.WithClock(clk.Now)),
		[]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}),
		WithRefusalSampling(time.Minute, clk.Now))
	return n, clk
}

// TestPublicRateLimit checks that a client past its rate on the public
// routes gets 429 rate_limited with Retry-After, while other clients, and
// its own authenticated and health requests, still pass.
func TestPublicRateLimit(t *testing.T) {
	n, clk := publicNode(t)
	n.tenant("acme")
	challenge := func(client string) response {
		return n.do("POST", "/v1/auth/challenge", "", map[string]string{"tenant": "acme"}, "X-Forwarded-For", "198.51.100.9, "+client)
	}
	for i := range 2 {
		if r := challenge("192.0.2.1"); r.status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %s", i+1, r.status, r.body)
		}
	}
	r := challenge("192.0.2.1")
	if r.status != http.StatusTooManyRequests || r.errCode() != "rate_limited" || r.header.Get("Retry-After") != "1" {
		t.Errorf("past the burst: %d %s, Retry-After %q; want 429 rate_limited, 1", r.status, r.body, r.header.Get("Retry-After"))
	}
	login := n.do("POST", "/v1/auth/login", "", map[string]string{"tenant": "acme"}, "X-Forwarded-For", "192.0.2.1")
	if login.status != http.StatusTooManyRequests {
		t.Errorf("login of the same client: %d, want 429 (one budget for every public route)", login.status)
	}
	if r := challenge("192.0.2.2"); r.status != http.StatusOK {
		t.Errorf("another client: %d %s", r.status, r.body)
	}
	if r := n.do("GET", "/v1/sys/health", "", nil, "X-Forwarded-For", "192.0.2.1"); r.status != http.StatusOK {
		t.Errorf("health of the limited client: %d", r.status)
	}
	if r := n.do("GET", "/v1/tokens/self", n.root, nil, "X-Forwarded-For", "192.0.2.1"); r.status != http.StatusOK {
		t.Errorf("authenticated request of the limited client: %d %s", r.status, r.body)
	}
	clk.Advance(time.Second)
	if r := challenge("192.0.2.1"); r.status != http.StatusOK {
		t.Errorf("a second later: %d %s", r.status, r.body)
	}
	// An IPv6 client is one /64: its other addresses share its bucket.
	for i, addr := range []string{"2001:db8::1", "2001:db8::2", "2001:db8::3"} {
		r := challenge(addr)
		if want := map[bool]int{true: http.StatusOK, false: http.StatusTooManyRequests}[i < 2]; r.status != want {
			t.Errorf("IPv6 %s: %d, want %d", addr, r.status, want)
		}
	}
}

// TestForwardedForUntrusted checks that X-Forwarded-For is ignored unless
// the peer is a trusted proxy: a client cannot claim fresh addresses.
func TestForwardedForUntrusted(t *testing.T) {
	clk := clocktest.New(time.Unix(2_000_000_000, 0))
	n := newTestNode(t, WithPublicRateLimit(ratelimit.New(1, 2, ratelimit.WithClock(clk.Now)), nil))
	n.tenant("acme")
	var codes []int
	for i := range 3 {
		r := n.do("POST", "/v1/auth/challenge", "", map[string]string{"tenant": "acme"}, "X-Forwarded-For", fmt.Sprint("192.0.2.", i))
		codes = append(codes, r.status)
	}
	if !slices.Equal(codes, []int{200, 200, 429}) {
		t.Errorf("statuses %v, want [200 200 429]", codes)
	}
	client, err := sdk.New(n.srv.URL, sdk.WithRetry(sdk.RetryPolicy{}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Auth().LoginChallenge(context.Background(), "acme")
	if e, ok := errors.AsType[*sdk.APIError](err); !ok || e.Code != "rate_limited" || e.RetryAfter != time.Second {
		t.Errorf("SDK: %#v, want rate_limited with RetryAfter 1s", err)
	}
}

// TestRefusalsSampled checks that refused public requests are not each
// written to the audit log: the first refusal of a kind from a client in
// an interval is, and one record after the interval counts the others.
func TestRefusalsSampled(t *testing.T) {
	n, clk := publicNode(t)
	n.tenant("acme")
	before := len(n.records())
	for range 50 {
		n.do("POST", "/v1/auth/challenge", "", map[string]string{"tenant": "nosuch"}, "X-Forwarded-For", "192.0.2.1")
	}
	n.do("POST", "/v1/auth/challenge", "", map[string]string{"tenant": "nosuch"}, "X-Forwarded-For", "192.0.2.2")
	refused := func() (recs []audit.Record) {
		for _, rec := range n.records()[before:] {
			if rec.Operation == "auth.challenge" {
				recs = append(recs, rec)
			}
		}
		return recs
	}
	recs := refused()
	// 192.0.2.1: one tenant_not_found, one rate_limited; 192.0.2.2: one.
	if len(recs) != 3 || recs[0].Code != "tenant_not_found" || recs[1].Code != "rate_limited" || recs[2].Remote != "192.0.2.2" {
		t.Fatalf("records of 51 refusals: %+v", recs)
	}
	clk.Advance(time.Minute)
	n.do("GET", "/v1/tokens/self", n.root, nil) // any audited request writes the counts due
	var counts = map[string]uint64{}
	for _, rec := range refused()[3:] {
		if rec.RequestID != "" || rec.Count == 0 {
			t.Errorf("summary record %+v", rec)
		}
		counts[rec.Code] += rec.Count
	}
	if counts["tenant_not_found"] != 1 || counts["rate_limited"] != 47 || len(counts) != 2 {
		t.Errorf("suppressed counts %v, want tenant_not_found 1, rate_limited 47", counts)
	}
	if rep, err := audit.Verify(context.Background(), n.sink, audit.VerifyOptions{}); err != nil || !rep.OK {
		t.Errorf("the log with summaries does not verify: %+v, %v", rep, err)
	}
}

// flakyAuditor keeps entries, or fails while down.
type flakyAuditor struct {
	down    bool
	entries []audit.Entry
}

func (f *flakyAuditor) Log(_ context.Context, e audit.Entry) error {
	if f.down {
		return errors.New("disk full")
	}
	f.entries = append(f.entries, e)
	return nil
}

// TestSamplerKeepsCounts checks that a summary that cannot be written is
// kept and written later, that FlushAudit writes open windows, and that
// successes and non-public operations are never sampled.
func TestSamplerKeepsCounts(t *testing.T) {
	ctx := context.Background()
	clk := clocktest.New(time.Unix(2_000_000_000, 0))
	next := &flakyAuditor{}
	s := &Server{auditor: newSampler(next, map[string]bool{"auth.login": true}, time.Minute, clk.Now)}
	refusal := audit.Entry{Operation: "auth.login", Status: 401, Code: "signature_invalid", Remote: "192.0.2.1:4000"}
	for i := range 5 {
		refusal.Remote = fmt.Sprint("192.0.2.1:", 4000+i) // a new connection each time: still one client
		if err := s.auditor.Log(ctx, refusal); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []audit.Entry{{Operation: "auth.login", Status: 200}, {Operation: "keys.create", Status: 403, Code: "permission_denied"}} {
		for range 2 {
			if err := s.auditor.Log(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(next.entries) != 5 {
		t.Fatalf("%d entries written, want 1 refusal and 4 others: %+v", len(next.entries), next.entries)
	}
	clk.Advance(time.Minute)
	next.down = true // the summary of 4 cannot be written: it is kept, and counts this refusal too
	if err := s.auditor.Log(ctx, refusal); err != nil {
		t.Fatal(err)
	}
	next.down = false
	s.FlushAudit(ctx)
	if got := next.entries[len(next.entries)-1]; len(next.entries) != 6 || got.Count != 5 || got.Remote != "192.0.2.1" || got.Code != "signature_invalid" {
		t.Errorf("after FlushAudit: %+v, want a summary of 5", next.entries)
	}
}
