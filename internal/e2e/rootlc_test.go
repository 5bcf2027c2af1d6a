package e2e

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/sdk"
)

// TestRootTokenLifeCycleThroughCLI: with two of three shares an operator
// makes a new root token (the CLI makes the one-time pad and decodes the
// answer), the old root token revokes itself, the last one cannot, and a
// tenant is deleted with its admin token.
func TestRootTokenLifeCycleThroughCLI(t *testing.T) {
	srv := startServer(t, "--storage", "bolt", "--data-dir", t.TempDir())
	var init sdk.InitResult
	cliJSON(t, srv.addr, "", &init, "operator", "init", "--shares", "3", "--threshold", "2")
	unseal(t, srv.addr, init.Shares[0], init.Shares[1])

	var started struct {
		sdk.GenerateRootStatus
		OTP string `json:"otp"`
	}
	cliJSON(t, srv.addr, "", &started, "operator", "generate-root", "--init")
	if started.Nonce == "" || started.OTP == "" || started.Required != 2 {
		t.Fatalf("generate-root --init: %+v", started)
	}
	var st sdk.GenerateRootStatus
	cliJSON(t, srv.addr, "", &st, "operator", "generate-root", "--nonce", started.Nonce, init.Shares[2])
	if st.Progress != 1 || st.Complete {
		t.Fatalf("first custodian: %+v", st)
	}
	// The second custodian enters the share on standard input.
	r := cliIn(t, srv.addr, "", init.Shares[0]+"\n", "operator", "generate-root", "--nonce", started.Nonce, "--format", "json")
	var done sdk.GenerateRootStatus
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &done) != nil || !done.Complete {
		t.Fatalf("second custodian: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	var last sdk.GenerateRootStatus
	cliJSON(t, srv.addr, "", &last, "operator", "generate-root", "--status")
	if last.Started {
		t.Fatalf("attempt still running: %+v", last)
	}
	encoded := base64.StdEncoding.EncodeToString(done.EncodedToken)
	var decoded struct {
		RootToken string `json:"root_token"`
	}
	cliJSON(t, "", "", &decoded, "operator", "generate-root", "--decode", encoded, "--otp", started.OTP)
	newRoot := decoded.RootToken
	var self sdk.TokenInfo
	cliJSON(t, srv.addr, newRoot, &self, "token", "lookup")
	if !self.Root || newRoot == init.RootToken {
		t.Fatalf("decoded token: %+v", self)
	}

	if r := cli(t, srv.addr, init.RootToken, "operator", "revoke-root"); r.code != 0 {
		t.Fatalf("revoke the first root token: exit %d %s", r.code, r.stderr)
	}
	if r := cli(t, srv.addr, init.RootToken, "tenant", "list"); r.code == 0 || !strings.Contains(r.stderr, "token_revoked") {
		t.Fatalf("revoked root token: exit %d %s", r.code, r.stderr)
	}
	if r := cli(t, srv.addr, newRoot, "operator", "revoke-root"); r.code == 0 || !strings.Contains(r.stderr, "last_root_token") {
		t.Fatalf("revoking the last root token: exit %d %s", r.code, r.stderr)
	}

	var tenant sdk.TenantCreated
	cliJSON(t, srv.addr, newRoot, &tenant, "tenant", "create", "clinic")
	var renewed sdk.TokenInfo
	cliJSON(t, srv.addr, tenant.Token, &renewed, "token", "renew")
	if renewed.ExpiresAt.IsZero() || renewed.RenewUntil.IsZero() {
		t.Fatalf("renewed admin token: %+v", renewed)
	}
	if r := cli(t, srv.addr, newRoot, "tenant", "delete", "clinic"); r.code != 0 {
		t.Fatalf("tenant delete: exit %d %s", r.code, r.stderr)
	}
	if r := cli(t, srv.addr, tenant.Token, "key", "list"); r.code == 0 || !strings.Contains(r.stderr, "token_revoked") {
		t.Fatalf("deleted tenant's admin token: exit %d %s", r.code, r.stderr)
	}
}
