package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mimacrypto/mima/sdk"
)

// TestTenantQuota: the root token sets a tenant's quota; past max_keys a
// creation and past ops_per_sec any request of the tenant is refused with
// 429 quota_exceeded naming the quota, and changes nothing.
func TestTenantQuota(t *testing.T) {
	n := newTestNode(t)
	tok := n.tenant("tenant-q")
	var q sdk.Quota
	if n.do("GET", "/v1/tenants/tenant-q/quota", n.root, nil).json(t, &q); q != (sdk.Quota{}) {
		t.Fatalf("a new tenant's quota: %+v", q)
	}
	n.do("PUT", "/v1/tenants/tenant-q/quota", n.root, sdk.Quota{OpsPerSec: 2, MaxKeys: 1}).json(t, &q)
	if q != (sdk.Quota{OpsPerSec: 2, MaxKeys: 1}) {
		t.Fatalf("quota after PUT: %+v", q)
	}
	if r := n.do("POST", "/v1/keys", tok, map[string]string{"name": "k1", "type": "sm4"}); r.status != http.StatusCreated {
		t.Fatalf("the first key: %d %s", r.status, r.body)
	}
	r := n.do("POST", "/v1/keys", tok, map[string]string{"name": "k2", "type": "sm4"})
	if r.status != http.StatusTooManyRequests || r.errCode() != "quota_exceeded" || !strings.Contains(string(r.body), "max_keys") {
		t.Fatalf("a key past max_keys: %d %s", r.status, r.body)
	}
	r = n.do("GET", "/v1/keys", tok, nil)
	if r.status != http.StatusTooManyRequests || r.errCode() != "quota_exceeded" || !strings.Contains(string(r.body), "ops_per_sec") || r.header.Get("Retry-After") != "1" {
		t.Fatalf("a request past ops_per_sec: %d %s %v", r.status, r.body, r.header)
	}
	// The root token is not held; the tenant gets tokens back with time.
	if r := n.do("GET", "/v1/tenants/tenant-q/quota", n.root, nil); r.status != http.StatusOK {
		t.Fatalf("root past the tenant's rate: %d %s", r.status, r.body)
	}
	n.clock.Advance(time.Second)
	var page sdk.KeyList
	if n.do("GET", "/v1/keys", tok, nil).json(t, &page); len(page.Keys) != 1 {
		t.Fatalf("keys after the refusals: %+v", page.Keys)
	}
	// Lifting the quota lifts the bound.
	n.do("PUT", "/v1/tenants/tenant-q/quota", n.root, sdk.Quota{})
	for i := range 5 {
		if r := n.do("GET", "/v1/keys", tok, nil); r.status != http.StatusOK {
			t.Fatalf("request %d without a quota: %d %s", i, r.status, r.body)
		}
	}
	for _, tc := range []struct {
		path string
		body any
		code string
	}{
		{"/v1/tenants/nobody/quota", sdk.Quota{OpsPerSec: 1}, "tenant_not_found"},
		{"/v1/tenants/tenant-q/quota", sdk.Quota{OpsPerSec: -1}, "invalid_argument"},
		{"/v1/tenants/tenant-q/quota", sdk.Quota{MaxKeys: 1 << 40}, "invalid_argument"},
		{"/v1/tenants/tenant-q/quota", map[string]any{"ops_per_sec": "many"}, "invalid_argument"},
	} {
		if r := n.do("PUT", tc.path, n.root, tc.body); r.errCode() != tc.code {
			t.Errorf("PUT %s %v: %d %s, want %s", tc.path, tc.body, r.status, r.body, tc.code)
		}
	}
}
