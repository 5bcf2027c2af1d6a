package e2e

import (
	"strings"
	"testing"

	"github.com/mimacrypto/mima/sdk"
)

// TestTokenTreeThroughCLI: token lookup shows a token's parent and depth,
// and token list --tree prints each token under the one that created it.
func TestTokenTreeThroughCLI(t *testing.T) {
	srv, root, _ := initialised(t, t.TempDir())
	var tenant sdk.TenantCreated
	cliJSON(t, srv.addr, root, &tenant, "tenant", "create", "acme")
	var child, grandchild sdk.TokenCreated
	cliJSON(t, srv.addr, tenant.Token, &child, "token", "create", "--policy", "admin", "--display-name", "child")
	cliJSON(t, srv.addr, child.Token, &grandchild, "token", "create", "--policy", "admin", "--display-name", "grandchild")

	var info sdk.TokenInfo
	cliJSON(t, srv.addr, tenant.Token, &info, "token", "lookup", grandchild.Accessor)
	if info.Parent != child.Accessor || info.Depth != 2 {
		t.Fatalf("lookup of the grandchild: parent %q depth %d, want %q and 2", info.Parent, info.Depth, child.Accessor)
	}
	if out := must(t, srv, grandchild.Token, "", "token", "lookup"); !strings.Contains(out, child.Accessor) || !strings.Contains(out, "Depth") {
		t.Fatalf("token lookup of itself:\n%s", out)
	}

	out := must(t, srv, tenant.Token, "", "token", "list", "--tree")
	indent := map[string]string{}
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		trimmed := strings.TrimLeft(line, " ")
		accessor, _, _ := strings.Cut(trimmed, " ")
		indent[accessor] = line[:len(line)-len(trimmed)]
	}
	for acc, want := range map[string]string{tenant.Accessor: "", child.Accessor: "  ", grandchild.Accessor: "    "} {
		if got, ok := indent[acc]; !ok || got != want {
			t.Fatalf("token list --tree indents %s by %q, want %q:\n%s", acc, got, want, out)
		}
	}
}
