package e2e

import (
	"bytes"
	"encoding/json"
	"github.com/mimacrypto/mima/internal/audit"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/sdk"
)

// TestOperatorLifecycle is the operator's path through the platform core:
// bolt store, init with 5 shares, unseal with 3, two tenants with their
// tokens and isolation, a restart that comes back sealed, everything found
// again, an intact audit log, and one flipped byte that audit verify names.
func TestOperatorLifecycle(t *testing.T) {
	dataDir := t.TempDir()
	srv := startServer(t, "--storage", "bolt", "--data-dir", dataDir)

	st, code := status(t, srv.addr)
	if code != 2 || st.Initialized || !st.Sealed {
		t.Fatalf("fresh server: exit %d %+v", code, st)
	}
	var init sdk.InitResult
	cliJSON(t, srv.addr, "", &init, "operator", "init", "--shares", "5", "--threshold", "3")
	if len(init.Shares) != 5 || init.RootToken == "" {
		t.Fatalf("init: %+v", init)
	}
	unseal(t, srv.addr, init.Shares[1], init.Shares[3], init.Shares[4])
	root := init.RootToken

	var a, b sdk.TenantCreated
	cliJSON(t, srv.addr, root, &a, "tenant", "create", "hospital-a")
	cliJSON(t, srv.addr, root, &b, "tenant", "create", "hospital-b")
	if r := cli(t, srv.addr, a.Token, "policy", "write", "records", "--rule", "tokens.read,policies.read:*"); r.code != 0 {
		t.Fatalf("policy write: %s", r.stderr)
	}
	var appA sdk.TokenCreated
	cliJSON(t, srv.addr, a.Token, &appA, "token", "create", "--policy", "records", "--ttl", "720h")

	// Isolation: tenant B sees none of tenant A's objects.
	if r := cli(t, srv.addr, b.Token, "policy", "read", "records"); r.code == 0 || !strings.Contains(r.stderr, "policy_not_found") {
		t.Fatalf("tenant B read tenant A's policy: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := cli(t, srv.addr, b.Token, "token", "lookup", appA.Accessor); r.code == 0 || !strings.Contains(r.stderr, "token_not_found") {
		t.Fatalf("tenant B looked up tenant A's token: exit %d %s", r.code, r.stderr)
	}
	if r := cli(t, srv.addr, b.Token, "tenant", "list"); r.code == 0 || !strings.Contains(r.stderr, "permission_denied") {
		t.Fatalf("tenant token listed tenants: exit %d %s", r.code, r.stderr)
	}
	var policies struct{ Items []string }
	cliJSON(t, srv.addr, b.Token, &policies, "policy", "list")
	if slices.Contains(policies.Items, "records") {
		t.Fatalf("tenant B lists tenant A's policy: %v", policies)
	}
	if out := must(t, srv, a.Token, "", "token", "list"); !strings.Contains(out, appA.Accessor) || !strings.Contains(out, "expires ") {
		t.Fatalf("tenant A's token list: %s", out)
	}
	if out := must(t, srv, b.Token, "", "token", "list"); strings.Contains(out, appA.Accessor) {
		t.Fatalf("tenant B lists tenant A's token: %s", out)
	}

	// Restart: the node comes back sealed and knows everything after unseal.
	srv.stop()
	srv = startServer(t, "--storage", "bolt", "--data-dir", dataDir)
	st, code = status(t, srv.addr)
	if code != 2 || !st.Initialized || !st.Sealed || st.Threshold != 3 {
		t.Fatalf("after restart: exit %d %+v", code, st)
	}
	if r := cli(t, srv.addr, a.Token, "policy", "list"); r.code == 0 || !strings.Contains(r.stderr, "sealed") {
		t.Fatalf("request while sealed: exit %d %s", r.code, r.stderr)
	}
	unseal(t, srv.addr, init.Shares[0], init.Shares[2], init.Shares[4])
	var tenants struct{ Items []sdk.Tenant }
	cliJSON(t, srv.addr, root, &tenants, "tenant", "list")
	if len(tenants.Items) != 3 {
		t.Fatalf("tenants after restart: %+v", tenants)
	}
	var self sdk.TokenInfo
	cliJSON(t, srv.addr, appA.Token, &self, "token", "lookup")
	if self.Accessor != appA.Accessor || self.Tenant != "hospital-a" {
		t.Fatalf("app token after restart: %+v", self)
	}
	var p sdk.Policy
	cliJSON(t, srv.addr, appA.Token, &p, "policy", "read", "records")
	if len(p.Rules) != 1 {
		t.Fatalf("policy after restart: %+v", p)
	}
	var online sdk.AuditReport
	cliJSON(t, srv.addr, root, &online, "audit", "verify")
	if !online.OK || online.Records < 10 {
		t.Fatalf("online audit verify: %+v", online)
	}
	srv.stop()

	// Offline verification of the intact log, then of a log with one
	// byte changed in one record.
	if r := cli(t, "", "", "audit", "verify", "--data-dir", dataDir); r.code != 0 || !strings.Contains(r.stdout, "intact") {
		t.Fatalf("offline verify: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	logPath := filepath.Join(dataDir, "audit", "audit.log")
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(log, []byte("\n"))
	const victim = 6 // 1-based line, a record well before the end
	// One bit of the record's operation name, stored as text in either
	// record form (JSON or compact).
	rec, err := audit.ParseRecord(bytes.TrimSuffix(lines[victim-1], []byte("\n")))
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(lines[victim-1], []byte(rec.Operation))
	if rec.Operation == "" || at < 0 {
		t.Fatalf("record 6 has no operation to change: %+v", rec)
	}
	lines[victim-1][at] ^= 0x01
	if err := os.WriteFile(logPath, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "", "", "audit", "verify", "--data-dir", dataDir)
	if r.code != 2 || !strings.Contains(r.stdout, "record 6 (line 6)") {
		t.Fatalf("tampered log: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// unseal enters shares through the CLI and checks the node opens with the
// last one.
func unseal(t *testing.T, addr string, shares ...string) {
	t.Helper()
	for i, share := range shares {
		var st sdk.SealStatus
		cliJSON(t, addr, "", &st, "operator", "unseal", share)
		if st.Sealed != (i < len(shares)-1) {
			t.Fatalf("after share %d: %+v", i+1, st)
		}
	}
}

// status runs `mima status --format json`: the health and the exit status
// (0 unsealed, 2 sealed or not initialised).
func status(t *testing.T, addr string) (sdk.Health, int) {
	t.Helper()
	r := cli(t, addr, "", "status", "--format", "json")
	var h sdk.Health
	if err := json.Unmarshal([]byte(r.stdout), &h); err != nil {
		t.Fatalf("mima status: exit %d: %v in %q %s", r.code, err, r.stdout, r.stderr)
	}
	return h, r.code
}
