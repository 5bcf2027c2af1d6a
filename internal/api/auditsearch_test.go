package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/sdk"
)

// searchPage gets one page of audit records.
func (n *testNode) searchPage(token string, query url.Values, headers ...string) sdk.AuditRecords {
	n.t.Helper()
	r := n.do("GET", "/v1/audit/records?"+query.Encode(), token, nil, headers...)
	if r.status != http.StatusOK {
		n.t.Fatalf("search %s: %d %s", query.Encode(), r.status, r.body)
	}
	var page sdk.AuditRecords
	r.json(n.t, &page)
	return page
}

// summary lists a page's records as "operation/object/status".
func summary(page sdk.AuditRecords) []string {
	out := []string{}
	for _, r := range page.Items {
		out = append(out, fmt.Sprintf("%s/%s/%d", r.Operation, r.Object, r.Status))
	}
	return out
}

func TestAuditSearchFilters(t *testing.T) {
	n := newTestNode(t)
	acme := n.tenant("acme")
	start := time.Now().Add(-time.Second)
	for _, req := range []struct {
		path string
		body map[string]string
	}{
		{"/v1/keys", map[string]string{"name": "k1", "type": "sm4"}},
		{"/v1/keys/k1/encrypt", map[string]string{"plaintext": "aGk="}},
		{"/v1/keys/missing/decrypt", map[string]string{"ciphertext": "mima:v1:AAAA"}},
	} {
		n.do("POST", req.path, acme, req.body)
	}
	q := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, tc := range []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"operation", q("operation", "keys.create"), []string{"keys.create/k1/0", "keys.create/k1/201"}},
		{"status", q("operation", "keys.create", "status", "2xx"), []string{"keys.create/k1/201"}},
		{"object", q("object", "missing"), []string{"decrypt/missing/404"}},
		{"refusals", q("status", "404"), []string{"decrypt/missing/404"}},
		{"window", q("operation", "encrypt", "from", start.Format(time.RFC3339Nano), "to", time.Now().Add(time.Hour).Format(time.RFC3339)), []string{"encrypt/k1/200"}},
		{"future", q("from", time.Now().Add(time.Hour).Format(time.RFC3339)), []string{}},
		{"own tenant named", q("tenant", "acme", "operation", "encrypt"), []string{"encrypt/k1/200"}},
	} {
		if got := summary(n.searchPage(acme, tc.query)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}

	// The root token searches the tenant it names, "default" otherwise.
	if got := summary(n.searchPage(n.root, q("operation", "encrypt"), TenantHeader, "acme")); !slices.Equal(got, []string{"encrypt/k1/200"}) {
		t.Errorf("root in acme: %v", got)
	}
	if page := n.searchPage(n.root, q("operation", "encrypt")); len(page.Items) != 0 {
		t.Errorf("root in the default tenant found acme's records: %v", summary(page))
	}

	for _, bad := range []url.Values{
		q("status", "abc"), q("from", "yesterday"), q("limit", "5000"), q("limit", "x"), q("after", "x"),
		q("from", "2025-01-02T00:00:00Z", "to", "2025-01-01T00:00:00Z"),
	} {
		if r := n.do("GET", "/v1/audit/records?"+bad.Encode(), acme, nil); r.status != http.StatusBadRequest || r.errCode() != "invalid_argument" {
			t.Errorf("%s: %d %s, want 400 invalid_argument", bad.Encode(), r.status, r.body)
		}
	}
}

// TestAuditSearchPagesAcrossNodes walks a cluster's chains a record at a
// time: every record of the tenant comes once, node after node, each
// with its node.
func TestAuditSearchPagesAcrossNodes(t *testing.T) {
	other := audit.NewMemorySink(0)
	log, err := audit.New(other)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	for i, tenant := range []string{"acme", "zeta", "acme"} {
		if err := log.Log(context.Background(), audit.Entry{RequestID: fmt.Sprint("r", i), Tenant: tenant, Operation: "encrypt", Object: "k", Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
	var n *testNode
	n = newTestNode(t, WithAuditSource(AuditSource{Chains: func(context.Context) (map[string]audit.Source, error) {
		return map[string]audit.Source{"n1": n.sink, "n2": other}, nil
	}}))
	acme := n.tenant("acme")
	n.do("POST", "/v1/keys", acme, map[string]string{"name": "k1", "type": "sm4"})
	n.do("POST", "/v1/keys/k1/encrypt", acme, map[string]string{"plaintext": "aGk="})

	// Each search is itself recorded in n1, so the walk keeps to encrypt.
	var got []string
	v := url.Values{"limit": {"1"}, "operation": {"encrypt"}}
	for range 20 {
		page := n.searchPage(acme, v)
		for _, r := range page.Items {
			if r.Tenant != "acme" {
				t.Fatalf("a record of tenant %q", r.Tenant)
			}
			got = append(got, r.Node+" "+r.Object)
		}
		if page.Next == "" {
			break
		}
		v.Set("after", page.Next)
	}
	if want := []string{"n1 k1", "n2 k", "n2 k"}; !slices.Equal(got, want) {
		t.Fatalf("pages gave %v, want %v", got, want)
	}
}
