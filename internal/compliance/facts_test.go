package compliance

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mimacrypto/mima/sdk"
)

// gatherFrom gathers facts from a server that answers health with h, the
// deployment with d unless it is nil, and refuses everything else, as for
// a token that sees only those.
func gatherFrom(t *testing.T, h sdk.Health, d *sdk.Deployment, encrypted bool) Facts {
	t.Helper()
	answers := map[string]any{"/v1/sys/health": h}
	if d != nil {
		answers["/v1/sys/deployment"] = *d
	}
	return gatherWith(t, answers, encrypted)
}

// gatherWith gathers facts from a server that answers GETs of the paths
// in answers with their values and refuses everything else.
func gatherWith(t *testing.T, answers map[string]any, encrypted bool) Facts {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if a, ok := answers[r.URL.Path]; ok && r.Method == http.MethodGet {
			_ = json.NewEncoder(w).Encode(a)
			return
		}
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":{"code":"permission_denied","message":"no"}}`))
	}))
	t.Cleanup(srv.Close)
	c, err := sdk.New(srv.URL, sdk.WithRetry(sdk.RetryPolicy{}))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Gather(context.Background(), c, encrypted, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// check evaluates the built-in level-3 check id on facts.
func check(t *testing.T, facts Facts, id string) Check {
	t.Helper()
	r, err := Level(3)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Evaluate(r, "t", time.Unix(0, 0), facts).Checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %s", id)
	return Check{}
}

// TestRootOfTrust checks that the unattended-unseal check tells an HSM
// seal from a KEK file, and falls back to the unattended flag of health
// when the server does not report its seal type to the token.
func TestRootOfTrust(t *testing.T) {
	seal := func(s string) *sdk.Deployment { return &sdk.Deployment{SealType: s} }
	for _, tc := range []struct {
		name       string
		health     sdk.Health
		deployment *sdk.Deployment
		status     string
		evidence   string
	}{
		{"key shares", sdk.Health{Threshold: 3, Shares: 5}, seal(sdk.SealShares), Pass, "3 of 5 key shares"},
		{"kek file", sdk.Health{Threshold: 3, Shares: 5, Unattended: true}, seal(sdk.SealKEK), Fail, "KEK file"},
		{"hsm", sdk.Health{Threshold: 3, Shares: 5, Unattended: true}, seal(sdk.SealPKCS11), Pass, "HSM (PKCS#11 seal)"},
		{"not reported, unattended", sdk.Health{Threshold: 3, Shares: 5, Unattended: true}, nil, Fail, "unattended unseal"},
		{"not reported, shares", sdk.Health{Threshold: 3, Shares: 5}, nil, Pass, "3 of 5 key shares"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := check(t, gatherFrom(t, tc.health, tc.deployment, true), "root.unattended")
			if c.Status != tc.status || !strings.Contains(c.Evidence, tc.evidence) {
				t.Fatalf("root.unattended: %s (%s), want %s with %q", c.Status, c.Evidence, tc.status, tc.evidence)
			}
		})
	}
}

// TestTransportCoversEveryListener checks that the transport check fails
// when any listener is plain HTTP on a non-loopback address, whatever
// the report's own connection, and falls back to that connection when the
// server does not report its listeners.
func TestTransportCoversEveryListener(t *testing.T) {
	l := func(addr, protocol string) sdk.Listener { return sdk.Listener{Addr: addr, Protocol: protocol} }
	for _, tc := range []struct {
		name      string
		listeners []sdk.Listener
		encrypted bool
		status    string
		evidence  string
	}{
		{"tls and tlcp", []sdk.Listener{l("0.0.0.0:8200", sdk.ProtocolTLS), l(":8443", sdk.ProtocolTLCP)}, true, Pass, ":8443 (tlcp)"},
		{"one port", []sdk.Listener{l(":8200", sdk.ProtocolTLSTLCP)}, true, Pass, ":8200 (tls+tlcp)"},
		{"plain http beside tlcp", []sdk.Listener{l("10.0.0.1:8200", sdk.ProtocolHTTP), l(":8443", sdk.ProtocolTLCP)}, true, Fail, "10.0.0.1:8200 (http)"},
		{"plain http on every address", []sdk.Listener{l(":8200", sdk.ProtocolHTTP)}, true, Fail, ":8200 (http)"},
		{"plain http on a hostname", []sdk.Listener{l("mima.example:8200", sdk.ProtocolHTTP)}, true, Fail, "mima.example:8200 (http)"},
		{"plain http on loopback", []sdk.Listener{l("127.0.0.1:8200", sdk.ProtocolHTTP), l("[::1]:8201", sdk.ProtocolHTTP), l("localhost:8202", sdk.ProtocolHTTP), l(":8443", sdk.ProtocolTLCP)}, false, Pass, "127.0.0.1:8200 (http)"},
		{"not reported, over tls", nil, true, Pass, "gathered over TLS or TLCP"},
		{"not reported, over http", nil, false, Fail, "gathered over plain HTTP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d *sdk.Deployment
			if tc.listeners != nil {
				d = &sdk.Deployment{SealType: sdk.SealShares, Listeners: tc.listeners}
			}
			c := check(t, gatherFrom(t, sdk.Health{Threshold: 2, Shares: 3}, d, tc.encrypted), "transport.encrypted")
			if c.Status != tc.status || !strings.Contains(c.Evidence, tc.evidence) {
				t.Fatalf("transport.encrypted: %s (%s), want %s with %q", c.Status, c.Evidence, tc.status, tc.evidence)
			}
		})
	}
}

// TestUnusedTokens checks that live tokens never used in the
// UnusedWindow since their creation fail the check with their accessors
// as evidence, and that the check is n/a when the token cannot list
// tokens.
func TestUnusedTokens(t *testing.T) {
	now := time.Now()
	old := now.Add(-UnusedWindow - time.Hour)
	tok := func(accessor string, created, used time.Time) sdk.TokenInfo {
		return sdk.TokenInfo{Accessor: accessor, Tenant: "acme", Policies: []string{"app"}, CreatedAt: created, LastUsedAt: used}
	}
	revoked, expired := tok("revokedOld", old, time.Time{}), tok("expiredOld", old, time.Time{})
	revoked.RevokedAt, expired.ExpiresAt = now.Add(-time.Hour), now.Add(-time.Hour)
	used, fresh := tok("usedOld", old, old.Add(time.Hour)), tok("freshNew", now.Add(-time.Hour), time.Time{})
	health := sdk.Health{Threshold: 2, Shares: 3}
	for _, tc := range []struct {
		name     string
		tokens   []sdk.TokenInfo
		status   string
		evidence string
	}{
		{"never used for over 30 days", []sdk.TokenInfo{used, fresh, tok("idleOld", old, time.Time{})}, Fail, "1 of 3 live tokens never used within 30 days of creation: idleOld"},
		{"used, new, revoked or expired", []sdk.TokenInfo{used, fresh, revoked, expired}, Pass, "0 of 2 live tokens"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := gatherWith(t, map[string]any{"/v1/sys/health": health, "/v1/tokens": sdk.TokenList{Tokens: tc.tokens}}, true)
			c := check(t, f, "access.unused-tokens")
			if c.Status != tc.status || !strings.Contains(c.Evidence, tc.evidence) {
				t.Fatalf("access.unused-tokens: %s (%s), want %s with %q", c.Status, c.Evidence, tc.status, tc.evidence)
			}
		})
	}
	if c := check(t, gatherFrom(t, health, nil, true), "access.unused-tokens"); c.Status != NA {
		t.Fatalf("without a view of tokens: %s (%s)", c.Status, c.Evidence)
	}
}
