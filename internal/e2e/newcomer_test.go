package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// devServer starts `mima server --dev` with a fixed root token.
func devServer(t *testing.T) (*server, string) {
	t.Helper()
	const root = "mima.devroot.e2e-dev-root-token"
	return startServer(t, "--dev", "--dev-root-token", root), root
}

// TestGenericReadWriteDelete reaches API routes by their paths, as Vault's
// read, write and delete do: a POST body from name=value pairs, a PUT
// where the path takes only PUT, queries and deletions (issue 13).
func TestGenericReadWriteDelete(t *testing.T) {
	srv, root := devServer(t)
	must(t, srv, root, "", "write", "keys", "name=orders", "type=sm4", "exportable=true")
	var k struct {
		Name       string `json:"name"`
		Type       string `json:"type"`
		Exportable bool   `json:"exportable"`
	}
	if err := json.Unmarshal([]byte(must(t, srv, root, "", "read", "/v1/keys/orders", "--format", "json")), &k); err != nil || k.Name != "orders" || !k.Exportable {
		t.Fatalf("read keys/orders: %+v %v", k, err)
	}
	if out := must(t, srv, root, "", "read", "keys/orders"); !strings.Contains(out, "KEY") || !strings.Contains(out, "orders") {
		t.Fatalf("table of read: %s", out)
	}
	// policies/{name} takes PUT only: write finds it.
	must(t, srv, root, "", "write", "policies/reader", `rules=[{"operations":["keys.read"],"objects":["*"]}]`)
	if out := must(t, srv, root, "", "read", "policies/reader", "--format", "json"); !strings.Contains(out, "keys.read") {
		t.Fatalf("read policies/reader: %s", out)
	}
	must(t, srv, root, "", "delete", "policies/reader")
	if r := cli(t, srv.addr, root, "read", "policies/reader"); r.code != 1 || !strings.Contains(r.stderr, "policy_not_found") {
		t.Fatalf("read after delete: exit %d %s", r.code, r.stderr)
	}
	must(t, srv, root, "", "delete", "keys/orders", "pending_days=7")
	if out := must(t, srv, root, "", "read", "keys", "state=pending_deletion", "--format", "json"); !strings.Contains(out, `"orders"`) {
		t.Fatalf("list pending keys: %s", out)
	}
	if out := must(t, srv, root, "", "read", "sys/openapi.yaml"); !strings.HasPrefix(out, "openapi:") {
		t.Fatalf("openapi: %.80s", out)
	}
}
