package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/sdk"
)

func TestBadInput(t *testing.T) {
	n := newTestNode(t, WithMaxBodyBytes(64))
	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"malformed JSON", `{"name":`, 400, "malformed_json"},
		{"not an object", `[1,2]`, 400, "invalid_argument"},
		{"wrong type", `{"name":42}`, 400, "invalid_argument"},
		{"unknown field", `{"name":"x","colour":"red"}`, 400, "unknown_field"},
		{"trailing data", `{"name":"x"} {}`, 400, "malformed_json"},
		{"oversized body", `{"name":"` + strings.Repeat("a", 100) + `"}`, 413, "body_too_large"},
		{"invalid name", `{"name":"Not Valid"}`, 400, "invalid_argument"},
	} {
		r := n.do("POST", "/v1/tenants", n.root, tc.body)
		if r.status != tc.status || r.errCode() != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.code)
		}
	}
	// None of them created a tenant.
	r := n.do("GET", "/v1/tenants", n.root, nil)
	var list tenantList
	r.json(t, &list)
	if len(list.Tenants) != 1 {
		t.Fatalf("bad requests changed state: %+v", list)
	}
}

func TestInvalidBase64(t *testing.T) {
	// Binary fields are []byte; encoding/json decodes them as standard
	// base64 and the decoder maps its error to invalid_base64.
	for _, body := range []string{`{"data":"!!!"}`, `{"data":"YQ"}`, `{"data":"Y Q=="}`} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		c := &call{r: req}
		var v struct {
			Data []byte `json:"data"`
		}
		if err := c.decode(&v); !fault.Is(err, fault.InvalidBase64) {
			t.Errorf("%s: %v, want invalid_base64", body, err)
		}
	}
}

func TestAuthenticationFailures(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	r := n.do("POST", "/v1/tokens", admin, map[string]any{"policies": []string{"admin"}, "ttl": "1h"})
	var app sdk.TokenCreated
	r.json(t, &app)
	if r := n.do("DELETE", "/v1/tokens/"+app.Accessor, admin, nil); r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	r = n.do("POST", "/v1/tokens", admin, map[string]any{"policies": []string{"admin"}, "ttl": "1m"})
	var expired sdk.TokenCreated
	r.json(t, &expired)
	n.clock.Advance(2 * time.Minute)
	for _, tc := range []struct {
		name, header string
		status       int
		code         string
	}{
		{"missing", "", 401, "unauthenticated"},
		{"not bearer", "Basic abc", 401, "unauthenticated"},
		{"unknown", "Bearer mima.AAAAAAAAAAAAAAAA." + strings.Repeat("A", 43), 401, "unauthenticated"},
		{"revoked", "Bearer " + app.Token, 401, "token_revoked"},
		{"expired", "Bearer " + expired.Token, 401, "token_expired"},
		{"tenant token on system route", "Bearer " + admin, 403, "permission_denied"},
	} {
		req, _ := http.NewRequest("GET", n.srv.URL+"/v1/tenants", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		resp, err := n.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := response{status: resp.StatusCode}
		if got.status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, got.status, tc.status)
		}
		r := n.do("GET", "/v1/tenants", strings.TrimPrefix(tc.header, "Bearer "), nil)
		if tc.header != "" && strings.HasPrefix(tc.header, "Bearer ") && r.errCode() != tc.code {
			t.Errorf("%s: code %q, want %q", tc.name, r.errCode(), tc.code)
		}
	}
}

func TestPolicyDecidesAppTokens(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	n.do("PUT", "/v1/policies/reader", admin, map[string]any{"rules": []map[string][]string{{"operations": {"policies.read", "policies.list"}, "objects": {"*"}}}})
	r := n.do("POST", "/v1/tokens", admin, map[string]any{"policies": []string{"reader"}})
	var app sdk.TokenCreated
	r.json(t, &app)
	if r := n.do("GET", "/v1/policies/reader", app.Token, nil); r.status != 200 {
		t.Fatalf("allowed read: %d %s", r.status, r.body)
	}
	if r := n.do("DELETE", "/v1/policies/reader", app.Token, nil); r.status != 403 || r.errCode() != "permission_denied" {
		t.Fatalf("denied delete: %d %s", r.status, r.body)
	}
	if r := n.do("POST", "/v1/tokens", app.Token, map[string]any{"policies": []string{"reader"}}); r.status != 403 {
		t.Fatalf("token create without tokens.create: %d %s", r.status, r.body)
	}
}

func TestSealedRefusesRequests(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	if r := n.do("POST", "/v1/sys/seal", n.root, nil); r.status != 200 {
		t.Fatalf("seal: %d %s", r.status, r.body)
	}
	for _, tc := range []struct{ method, path, token string }{
		{"GET", "/v1/tenants", n.root},
		{"GET", "/v1/policies", admin},
		{"POST", "/v1/tokens", admin},
		{"GET", "/v1/tokens/self", ""},
		{"POST", "/v1/sys/seal", n.root},
	} {
		r := n.do(tc.method, tc.path, tc.token, nil)
		if r.status != http.StatusServiceUnavailable || r.errCode() != "sealed" {
			t.Errorf("%s %s while sealed: %d %s", tc.method, tc.path, r.status, r.body)
		}
	}
	r := n.do("GET", "/v1/sys/health", "", nil)
	var h sdk.Health
	r.json(t, &h)
	if r.status != http.StatusServiceUnavailable || !h.Sealed || !h.Initialized || h.Version == "" {
		t.Fatalf("health while sealed: %d %s", r.status, r.body)
	}
	r = n.do("POST", "/v1/sys/unseal", "", map[string]string{"share": n.share})
	if r.status != 200 {
		t.Fatalf("unseal: %d %s", r.status, r.body)
	}
	if r := n.do("GET", "/v1/sys/health", "", nil); r.status != 200 {
		t.Fatalf("health after unseal: %d", r.status)
	}
	if r := n.do("GET", "/v1/policies", admin, nil); r.status != 200 {
		t.Fatalf("tenant token after unseal: %d %s", r.status, r.body)
	}
}

func TestUnsealErrors(t *testing.T) {
	n := newTestNode(t)
	n.do("POST", "/v1/sys/seal", n.root, nil)
	for _, tc := range []struct {
		body any
		code string
	}{
		{map[string]string{"share": "mima-share-1:nonsense"}, "invalid_share"},
		{map[string]string{}, "invalid_argument"},
	} {
		r := n.do("POST", "/v1/sys/unseal", "", tc.body)
		if r.status != 400 || r.errCode() != tc.code {
			t.Errorf("%v: %d %s", tc.body, r.status, r.body)
		}
	}
	if r := n.do("POST", "/v1/sys/init", "", map[string]int{"shares": 1, "threshold": 1}); r.status != 409 || r.errCode() != "already_initialized" {
		t.Fatalf("second init: %d %s", r.status, r.body)
	}
}

func TestEveryResponseHasRequestID(t *testing.T) {
	n := newTestNode(t)
	seen := map[string]bool{}
	for _, tc := range []struct{ method, path, token string }{
		{"GET", "/v1/sys/health", ""},
		{"GET", "/v1/tenants", n.root},
		{"GET", "/v1/tenants", ""},
		{"GET", "/v1/nowhere", ""},
		{"PATCH", "/v1/tenants", n.root},
	} {
		r := n.do(tc.method, tc.path, tc.token, nil)
		id := r.header.Get("X-Request-Id")
		if id == "" || seen[id] {
			t.Errorf("%s %s: request id %q", tc.method, tc.path, id)
		}
		seen[id] = true
		if r.status >= 400 && !strings.Contains(string(r.body), id) {
			t.Errorf("%s %s: error body lacks the request id: %s", tc.method, tc.path, r.body)
		}
	}
	if r := n.do("PATCH", "/v1/tenants", n.root, nil); r.status != 405 || r.errCode() != "method_not_allowed" || r.header.Get("Allow") == "" {
		t.Fatalf("405: %d %v %s", r.status, r.header, r.body)
	}
	if r := n.do("GET", "/v1/nowhere", "", nil); r.status != 404 || r.errCode() != "route_not_found" {
		t.Fatalf("404: %d %s", r.status, r.body)
	}
}

func TestEveryRequestIsAudited(t *testing.T) {
	n := newTestNode(t)
	before := len(n.records())
	admin := n.tenant("acme")
	n.do("GET", "/v1/policies", admin, nil)
	n.do("GET", "/v1/policies", "mima.bogus", nil)
	n.do("GET", "/v1/sys/health", "", nil) // health is not audited
	n.do("POST", "/v1/sys/seal", n.root, nil)
	n.do("POST", "/v1/sys/unseal", "", map[string]string{"share": n.share})
	recs := n.records()[before:]
	var ops []string
	for _, r := range recs {
		switch {
		case r.Kind == audit.KindRequest && r.Status == 0:
			ops = append(ops, r.Operation+":accepted")
		case r.Kind == audit.KindRequest:
			ops = append(ops, r.Operation+"/"+r.Code)
		}
	}
	// A route that changes state is recorded before it acts (status 0) and
	// again with its outcome; a read only after.
	want := []string{"tenants.create:accepted", "tenants.create/", "policies.list/", "policies.list/unauthenticated",
		"sys.seal:accepted", "sys.seal/", "sys.unseal:accepted", "sys.unseal/"}
	if strings.Join(ops, " ") != strings.Join(want, " ") {
		t.Fatalf("audited %v, want %v", ops, want)
	}
	// The share that unsealed is recorded as an HMAC (the audit key is
	// loaded by the time the record is written)...
	if h := recs[len(recs)-1].HMAC["share"]; len(h) != 64 {
		t.Fatalf("unsealing share recorded as %q", h)
	}
	// ...and a share entered while the node stays sealed as redacted.
	n.do("POST", "/v1/sys/seal", n.root, nil)
	n.do("POST", "/v1/sys/unseal", "", map[string]string{"share": "mima-share-1:wrong"})
	all := n.records()
	if h := all[len(all)-1].HMAC["share"]; h != audit.Redacted {
		t.Fatalf("share while sealed recorded as %q", h)
	}
	for _, r := range recs {
		if r.Tenant == "acme" && r.Accessor == "" {
			t.Errorf("record without accessor: %+v", r)
		}
	}
	// Secrets never reach the log.
	var exported strings.Builder
	_ = audit.Export(context.Background(), &exported, n.sink)
	for _, secret := range []string{n.share, admin, n.root} {
		if strings.Contains(exported.String(), secret) || strings.Contains(exported.String(), secret[strings.LastIndexByte(secret, '.')+1:]) {
			t.Fatalf("audit log contains a secret")
		}
	}
	n.do("POST", "/v1/sys/unseal", "", map[string]string{"share": n.share})
	r := n.do("GET", "/v1/audit/verify", n.root, nil)
	var rep audit.Report
	r.json(t, &rep)
	if !rep.OK || rep.Records == 0 {
		t.Fatalf("online verify: %s", r.body)
	}
}

func TestMetrics(t *testing.T) {
	n := newTestNode(t)
	n.do("GET", "/v1/tenants", n.root, nil)
	r := n.do("GET", "/metrics", "", nil)
	body := string(r.body)
	for _, want := range []string{
		`mima_http_requests_total{route="GET /v1/tenants",status="200"} 1`,
		`mima_http_request_duration_seconds_count{route="GET /v1/tenants"} 1`,
		"mima_sealed 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, n.root) {
		t.Fatal("metrics contain a token")
	}
}

// FuzzDecode sends arbitrary bodies through the request decoder: every
// failure must carry a user-facing code, never internal.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"name":"x"}`, `{"share":"a","reset":true}`, `{`, `[]`, `{"data":"!!"}`, `{"name":"x"}{}`, "", `{"policies":["a"],"ttl":"1h"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/", strings.NewReader(string(body)))
		rec := httptest.NewRecorder()
		req.Body = http.MaxBytesReader(rec, req.Body, 1<<10)
		var v struct {
			Name     string   `json:"name"`
			Data     []byte   `json:"data"`
			Policies []string `json:"policies"`
			Reset    bool     `json:"reset"`
		}
		err := (&call{r: req}).decode(&v)
		if err != nil && fault.CodeOf(err) == fault.Internal {
			t.Fatalf("decode error without a code: %v", err)
		}
	})
}
