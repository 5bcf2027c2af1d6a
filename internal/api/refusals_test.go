package api

import (
	"net/http"
	"testing"
)

// TestImportParamsArePOST checks that asking for import parameters, which
// creates a one-time wrapping key (and, for a CA, a pending CA and its
// key), is a POST: a GET, which crawlers and prefetchers send freely,
// answers 405 and creates nothing.
func TestImportParamsArePOST(t *testing.T) {
	n := newTestNode(t)
	tok := n.tenant("acme")
	if r := n.do("POST", "/v1/keys", tok, map[string]string{"name": "byok", "type": "sm4"}); r.status != http.StatusCreated {
		t.Fatalf("key: %d %s", r.status, r.body)
	}
	for _, path := range []string{"/v1/keys/byok/import-params", "/v1/ca/imported/import-params"} {
		r := n.do("GET", path, tok, nil)
		if r.status != http.StatusMethodNotAllowed || r.errCode() != "method_not_allowed" || r.header.Get("Allow") != "POST" {
			t.Errorf("GET %s: %d %s (Allow %q), want 405 method_not_allowed", path, r.status, r.body, r.header.Get("Allow"))
		}
	}
	if r := n.do("GET", "/v1/ca/imported", tok, nil); r.status != http.StatusNotFound {
		t.Errorf("a GET of import-params created CA %q: %d %s", "imported", r.status, r.body)
	}
	var keys struct {
		Keys []struct{ Name string } `json:"keys"`
	}
	n.do("GET", "/v1/keys", tok, nil).json(t, &keys)
	if len(keys.Keys) != 1 {
		t.Errorf("keys after the GETs: %+v, want only byok", keys.Keys)
	}
	for _, path := range []string{"/v1/keys/byok/import-params", "/v1/ca/imported/import-params"} {
		if r := n.do("POST", path, tok, nil); r.status != http.StatusOK {
			t.Errorf("POST %s: %d %s", path, r.status, r.body)
		}
	}
}
