package api

import (
	"net/http"
	"testing"
)

// TestStorageOutageIsOneAnswer: a storage outage is the same answer from
// every service, 503 storage_unavailable, whether the request reads
// tenants, tokens and policies (authn) or keys, CAs and TSAs.
func TestStorageOutageIsOneAnswer(t *testing.T) {
	n := newTestNode(t)
	n.tenant("acme")
	n.storeDown.Store(true)
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/tenants"},
		{"POST", "/v1/tenants"},
		{"GET", "/v1/policies"},
		{"GET", "/v1/tokens"},
		{"GET", "/v1/keys"},
		{"GET", "/v1/ca"},
		{"GET", "/v1/tsas"},
		{"GET", "/v1/v2x/deployments"},
	} {
		var body any
		if c.method == "POST" {
			body = map[string]string{"name": "other"}
		}
		r := n.do(c.method, c.path, n.root, body)
		if r.status != http.StatusServiceUnavailable || r.errCode() != "storage_unavailable" {
			t.Errorf("%s %s during an outage: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	n.storeDown.Store(false)
	if r := n.do("GET", "/v1/tenants", n.root, nil); r.status != http.StatusOK {
		t.Fatalf("after the outage: %d %s", r.status, r.body)
	}
}
