package api

import (
	"crypto/rand"
	"net/http"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/cms"
	"github.com/mimacrypto/mima/sdk"
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

// policyToken writes policy name granting ops on objects in the tenant of
// admin and returns a new token holding only that policy.
func (n *testNode) policyToken(admin, name string, ops, objects []string) string {
	n.t.Helper()
	r := n.do("PUT", "/v1/policies/"+name, admin, map[string]any{"rules": []map[string][]string{{"operations": ops, "objects": objects}}})
	if r.status != http.StatusOK {
		n.t.Fatalf("policy %s: %d %s", name, r.status, r.body)
	}
	r = n.do("POST", "/v1/tokens", admin, map[string]any{"policies": []string{name}})
	if r.status != http.StatusCreated {
		n.t.Fatalf("token with %s: %d %s", name, r.status, r.body)
	}
	var tok sdk.TokenCreated
	r.json(n.t, &tok)
	return tok.Token
}

// TestDefaultTSAIsAuthorisedByName checks that POST /v1/tsa, which stamps
// with the TSA named "default", is decided on that name: a token allowed
// tsa.stamp only on another TSA is refused, one allowed it on "default"
// is served, and the audit record names the TSA.
func TestDefaultTSAIsAuthorisedByName(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	if r := n.do("POST", "/v1/ca", admin, map[string]any{"name": "tsa-ca", "type": "root", "subject": map[string]string{"common_name": "TSA CA"}}); r.status != http.StatusCreated {
		t.Fatalf("CA: %d %s", r.status, r.body)
	}
	for _, name := range []string{"default", "other"} {
		if r := n.do("POST", "/v1/tsas", admin, map[string]string{"name": name, "ca": "tsa-ca"}); r.status != http.StatusCreated {
			t.Fatalf("TSA %s: %d %s", name, r.status, r.body)
		}
	}
	tsq, _, err := cms.NewTimestampRequest(rand.Reader, strings.NewReader("hi"))
	if err != nil {
		t.Fatal(err)
	}
	stamp := func(path, tok string) response {
		return n.do("POST", path, tok, tsq, "Content-Type", "application/timestamp-query")
	}
	other := n.policyToken(admin, "stamp-other", []string{"tsa.stamp"}, []string{"other"})
	if r := stamp("/v1/tsa/other", other); r.status != http.StatusOK {
		t.Fatalf("positive control: stamping with other: %d %s", r.status, r.body)
	}
	if r := stamp("/v1/tsa", other); r.status != http.StatusForbidden || r.errCode() != "permission_denied" {
		t.Errorf("a token allowed only TSA other, on POST /v1/tsa: %d %s", r.status, r.body)
	}
	def := n.policyToken(admin, "stamp-default", []string{"tsa.stamp"}, []string{"default"})
	if r := stamp("/v1/tsa", def); r.status != http.StatusOK {
		t.Errorf("a token allowed TSA default, on POST /v1/tsa: %d %s", r.status, r.body)
	}
	recs := n.records()
	if last := recs[len(recs)-1]; last.Operation != "tsa.stamp" || last.Object != "default" {
		t.Errorf("audit record of POST /v1/tsa: %+v, want tsa.stamp on default", last)
	}
}

// TestDotNamesRefused tries "." and ".." as the name of the object of
// every route that creates or names a new one. URL path cleaning drops
// such a segment, so an object with one could never be addressed again;
// each must be refused before any handler creates it: 400 invalid_argument,
// or, where the name is in the path, the router's redirect to the cleaned
// path (which no handler serves as a create).
func TestDotNamesRefused(t *testing.T) {
	n := newTestNode(t)
	n.srv.Client().CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	admin := n.tenant("tenant-a")
	if r := n.do("POST", "/v1/keys", admin, map[string]any{"name": "k", "type": "sm4", "exportable": true}); r.status != http.StatusCreated {
		t.Fatalf("key: %d %s", r.status, r.body)
	}
	var backup backupAnswer
	n.do("POST", "/v1/keys/k/backup", admin, map[string]string{"password": "correct horse battery"}).json(t, &backup)
	if r := n.do("POST", "/v1/ca", admin, map[string]any{"name": "ca", "type": "root", "subject": map[string]string{"common_name": "CA"}}); r.status != http.StatusCreated {
		t.Fatalf("CA: %d %s", r.status, r.body)
	}
	pca := v2xFixture(t, n, admin)
	v2xTenants := sdk.V2XTenants{Root: "tenant-a", ECA: "tenant-a", RA: "tenant-a", LA1: "v2x-la1", LA2: "v2x-la2", PCA: "v2x-pca", MA: "v2x-ma"}

	type attempt struct {
		method, path string
		body         any
		token        string
		inPath       bool
	}
	attempts := func(name, seg string) map[string]attempt {
		return map[string]attempt{
			"tenant":        {"POST", "/v1/tenants", map[string]string{"name": name}, n.root, false},
			"policy":        {"PUT", "/v1/policies/" + seg, map[string]any{"rules": []map[string][]string{{"operations": {"encrypt"}, "objects": {"*"}}}}, admin, true},
			"key":           {"POST", "/v1/keys", map[string]string{"name": name, "type": "sm4"}, admin, false},
			"restored key":  {"POST", "/v1/keys/restore", map[string]any{"backup": backup.Backup, "password": "correct horse battery", "name": name}, admin, false},
			"alias":         {"POST", "/v1/aliases", map[string]string{"name": "alias:" + name, "target": "k"}, admin, false},
			"moved alias":   {"PUT", "/v1/aliases/alias:" + seg, map[string]string{"target": "k"}, admin, false},
			"CA":            {"POST", "/v1/ca", map[string]any{"name": name, "type": "root", "subject": map[string]string{"common_name": "x"}}, admin, false},
			"imported CA":   {"POST", "/v1/ca/" + seg + "/import-params", nil, admin, true},
			"profile":       {"PUT", "/v1/ca/ca/profiles/" + seg, map[string]any{"usage": "signing", "key_usage": []string{"digitalSignature"}, "max_ttl": "720h"}, admin, true},
			"TSA":           {"POST", "/v1/tsas", map[string]string{"name": name, "ca": "ca"}, admin, false},
			"login rule":    {"PUT", "/v1/auth/rules/" + seg, map[string]any{"match": "subject", "pattern": "*", "policies": []string{"admin"}}, admin, true},
			"V2X":           {"POST", "/v1/v2x", sdk.V2XDeploymentRequest{Name: name, Tenants: v2xTenants}, n.root, false},
			"V2X device":    {"PUT", "/v1/v2x/iso/devices", sdk.V2XDevices{Devices: []sdk.V2XDevice{{ID: name}}}, admin, false},
			"standalone LA": {"POST", "/v1/v2x-las", sdk.V2XLARequest{Name: name, ID: "0009", PCA: pca}, admin, false},
		}
	}
	for _, name := range []string{".", ".."} {
		// The path form is tried as typed and percent-encoded.
		for _, seg := range []string{name, strings.ReplaceAll(name, ".", "%2E")} {
			for what, a := range attempts(name, seg) {
				r := n.do(a.method, a.path, a.token, a.body)
				refused := r.status == http.StatusBadRequest && r.errCode() == "invalid_argument" ||
					a.inPath && r.status == http.StatusTemporaryRedirect
				if !refused {
					t.Errorf("%s named %q: %s %s answered %d %s", what, name, a.method, a.path, r.status, r.body)
				}
			}
		}
	}
}
