package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/audit"
)

// generateRootStatus is the answer of the generate-root routes.
type generateRootStatus struct {
	Started      bool   `json:"started"`
	Nonce        string `json:"nonce"`
	Progress     int    `json:"progress"`
	Required     int    `json:"required"`
	Complete     bool   `json:"complete"`
	EncodedToken string `json:"encoded_token"`
	OTPLength    int    `json:"otp_length"`
}

// newOTP returns a one-time pad of the length the server asks for.
func (n *testNode) newOTP() []byte {
	n.t.Helper()
	var st generateRootStatus
	r := n.do("GET", "/v1/sys/generate-root/attempt", "", nil)
	if r.status != http.StatusOK {
		n.t.Fatalf("generate-root status: %d %s", r.status, r.body)
	}
	r.json(n.t, &st)
	if st.OTPLength < 32 {
		n.t.Fatalf("otp length %d", st.OTPLength)
	}
	otp := make([]byte, st.OTPLength)
	if _, err := rand.Read(otp); err != nil {
		n.t.Fatal(err)
	}
	return otp
}

// generateRoot runs the whole generate-root flow with the node's share and
// returns the decoded new root token.
func (n *testNode) generateRoot(extra map[string]any) string {
	n.t.Helper()
	otp := n.newOTP()
	body := map[string]any{"otp": base64.StdEncoding.EncodeToString(otp)}
	for k, v := range extra {
		body[k] = v
	}
	var st generateRootStatus
	r := n.do("POST", "/v1/sys/generate-root/attempt", "", body)
	if r.status != http.StatusOK {
		n.t.Fatalf("start: %d %s", r.status, r.body)
	}
	r.json(n.t, &st)
	r = n.do("POST", "/v1/sys/generate-root/update", "", map[string]string{"nonce": st.Nonce, "share": n.share})
	if r.status != http.StatusOK {
		n.t.Fatalf("update: %d %s", r.status, r.body)
	}
	r.json(n.t, &st)
	if !st.Complete || st.EncodedToken == "" {
		n.t.Fatalf("one share of one did not complete: %+v", st)
	}
	enc, err := base64.StdEncoding.DecodeString(st.EncodedToken)
	if err != nil || len(enc) != len(otp) {
		n.t.Fatalf("encoded token %q: %v", st.EncodedToken, err)
	}
	for i := range enc {
		enc[i] ^= otp[i]
	}
	return string(enc)
}

func TestGenerateRootIssuesAWorkingRootToken(t *testing.T) {
	n := newTestNode(t)
	tok := n.generateRoot(nil)
	if tok == n.root || !strings.HasPrefix(tok, "mima.") {
		t.Fatalf("new root token %q", tok)
	}
	var self struct {
		Accessor  string    `json:"accessor"`
		Root      bool      `json:"root"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	r := n.do("GET", "/v1/tokens/self", tok, nil)
	r.json(t, &self)
	if r.status != http.StatusOK || !self.Root || !self.ExpiresAt.IsZero() {
		t.Fatalf("new root token: %d %s", r.status, r.body)
	}
	if r := n.do("GET", "/v1/tenants", tok, nil); r.status != http.StatusOK {
		t.Fatalf("new root token cannot act as root: %d %s", r.status, r.body)
	}
	// Neither the share, the pad nor the token reach the audit log.
	err := n.sink.Scan(context.Background(), func(line []byte) error {
		for _, secret := range []string{n.share, tok, tok[len(tok)-43:]} {
			if strings.Contains(string(line), secret) {
				t.Errorf("audit record holds a secret: %s", line)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The audit record of the completing share names the new token.
	if !slices.ContainsFunc(n.records(), func(r audit.Record) bool {
		return r.Operation == "sys.generate-root.update" && r.Object == self.Accessor && r.Status == http.StatusOK
	}) {
		t.Fatal("no audit record names the new root token")
	}
	// The attempt is over: another update needs a new attempt.
	if r := n.do("POST", "/v1/sys/generate-root/update", "", map[string]string{"nonce": "x", "share": n.share}); r.status != http.StatusNotFound {
		t.Fatalf("update after completion: %d %s", r.status, r.body)
	}
}

func TestGenerateRootWithTTL(t *testing.T) {
	n := newTestNode(t)
	tok := n.generateRoot(map[string]any{"ttl": "1h"})
	n.clock.Advance(59 * time.Minute)
	if r := n.do("GET", "/v1/tenants", tok, nil); r.status != http.StatusOK {
		t.Fatalf("before its TTL: %d %s", r.status, r.body)
	}
	n.clock.Advance(time.Minute)
	if r := n.do("GET", "/v1/tenants", tok, nil); r.status != http.StatusUnauthorized || r.errCode() != "token_expired" {
		t.Fatalf("after its TTL: %d %s", r.status, r.body)
	}
}

func TestGenerateRootRefusals(t *testing.T) {
	n := newTestNode(t)
	otp := base64.StdEncoding.EncodeToString(n.newOTP())
	if r := n.do("POST", "/v1/sys/generate-root/update", "", map[string]string{"nonce": "x", "share": n.share}); r.status != http.StatusNotFound {
		t.Fatalf("update without an attempt: %d %s", r.status, r.body)
	}
	for name, body := range map[string]any{
		"short pad":  map[string]string{"otp": base64.StdEncoding.EncodeToString([]byte("short"))},
		"no pad":     map[string]string{},
		"bad base64": map[string]string{"otp": "!!"},
		"bad ttl":    map[string]string{"otp": otp, "ttl": "forever"},
	} {
		if r := n.do("POST", "/v1/sys/generate-root/attempt", "", body); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	var st generateRootStatus
	n.do("POST", "/v1/sys/generate-root/attempt", "", map[string]string{"otp": otp}).json(t, &st)
	if !st.Started || st.Nonce == "" || st.Required != 1 {
		t.Fatalf("started: %+v", st)
	}
	if r := n.do("POST", "/v1/sys/generate-root/attempt", "", map[string]string{"otp": otp}); r.status != http.StatusConflict {
		t.Fatalf("second attempt while one runs: %d %s", r.status, r.body)
	}
	for name, tc := range map[string]struct {
		body map[string]string
		code string
	}{
		"wrong nonce": {map[string]string{"nonce": "not-it", "share": n.share}, "invalid_argument"},
		"no nonce":    {map[string]string{"share": n.share}, "invalid_argument"},
		"bad share":   {map[string]string{"nonce": st.Nonce, "share": "mima-share-1:AAAA"}, "invalid_share"},
	} {
		r := n.do("POST", "/v1/sys/generate-root/update", "", tc.body)
		if r.status != http.StatusBadRequest || r.errCode() != tc.code {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	if r := n.do("DELETE", "/v1/sys/generate-root/attempt", "", nil); r.status != http.StatusNoContent {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	if r := n.do("POST", "/v1/sys/generate-root/update", "", map[string]string{"nonce": st.Nonce, "share": n.share}); r.status != http.StatusNotFound {
		t.Fatalf("update after cancel: %d %s", r.status, r.body)
	}
	n.core.Seal()
	if r := n.do("POST", "/v1/sys/generate-root/attempt", "", map[string]string{"otp": otp}); r.status != http.StatusServiceUnavailable {
		t.Fatalf("attempt while sealed: %d %s", r.status, r.body)
	}
}

func TestRootTokenRevokesItselfOnlyWhenAnotherExists(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	if r := n.do("DELETE", "/v1/sys/root-token", admin, nil); r.status != http.StatusForbidden {
		t.Fatalf("tenant admin revoking root: %d %s", r.status, r.body)
	}
	r := n.do("DELETE", "/v1/sys/root-token", n.root, nil)
	if r.status != http.StatusConflict || r.errCode() != "last_root_token" {
		t.Fatalf("revoking the only root token: %d %s", r.status, r.body)
	}
	if r := n.do("GET", "/v1/tenants", n.root, nil); r.status != http.StatusOK {
		t.Fatalf("refused revocation changed the root token: %d %s", r.status, r.body)
	}
	second := n.generateRoot(nil)
	if r := n.do("DELETE", "/v1/sys/root-token", n.root, nil); r.status != http.StatusNoContent {
		t.Fatalf("revoking with another root: %d %s", r.status, r.body)
	}
	if r := n.do("GET", "/v1/tenants", n.root, nil); r.status != http.StatusUnauthorized || r.errCode() != "token_revoked" {
		t.Fatalf("revoked root token: %d %s", r.status, r.body)
	}
	if r := n.do("GET", "/v1/tenants", second, nil); r.status != http.StatusOK {
		t.Fatalf("second root token: %d %s", r.status, r.body)
	}
	if r := n.do("DELETE", "/v1/sys/root-token", second, nil); r.errCode() != "last_root_token" {
		t.Fatalf("second root is now the last: %d %s", r.status, r.body)
	}
}

func TestTenantAdminTokenExpiresAndRenews(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	created := n.clock.Now()
	var info struct {
		ExpiresAt  time.Time `json:"expires_at"`
		RenewUntil time.Time `json:"renew_until"`
	}
	n.do("GET", "/v1/tokens/self", admin, nil).json(t, &info)
	if want := created.Add(30 * 24 * time.Hour); !info.ExpiresAt.Equal(want) {
		t.Fatalf("tenant admin token expires %v, want 30 days (%v)", info.ExpiresAt, want)
	}
	n.clock.Advance(29 * 24 * time.Hour)
	r := n.do("POST", "/v1/tokens/self/renew", admin, map[string]string{})
	if r.status != http.StatusOK {
		t.Fatalf("renew: %d %s", r.status, r.body)
	}
	r.json(t, &info)
	if want := n.clock.Now().Add(30 * 24 * time.Hour); !info.ExpiresAt.Equal(want) {
		t.Fatalf("renewed to %v, want %v", info.ExpiresAt, want)
	}
	if r := n.do("POST", "/v1/tokens/self/renew", admin, map[string]string{"increment": "soon"}); r.status != http.StatusBadRequest {
		t.Fatalf("bad increment: %d %s", r.status, r.body)
	}
	// Renewal stops at the maximum lifetime, a year after creation.
	for range 11 {
		n.clock.Advance(29 * 24 * time.Hour)
		r := n.do("POST", "/v1/tokens/self/renew", admin, nil)
		if r.status != http.StatusOK {
			t.Fatalf("renew: %d %s", r.status, r.body)
		}
		r.json(t, &info)
	}
	if want := created.Add(365 * 24 * time.Hour); !info.ExpiresAt.Equal(want) || !info.RenewUntil.Equal(want) {
		t.Fatalf("last renewal to %v (renew until %v), want the maximum %v", info.ExpiresAt, info.RenewUntil, want)
	}
	n.clock.Advance(30 * 24 * time.Hour)
	if r := n.do("GET", "/v1/tokens/self", admin, nil); r.status != http.StatusUnauthorized || r.errCode() != "token_expired" {
		t.Fatalf("past the maximum lifetime: %d %s", r.status, r.body)
	}
}

func TestOnlyRenewableTokensRenew(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	var app struct {
		Token string `json:"token"`
	}
	n.do("POST", "/v1/tokens", admin, map[string]any{"policies": []string{"admin"}, "ttl": "1h"}).json(t, &app)
	for name, tok := range map[string]string{"child token": app.Token, "root token": n.root} {
		if r := n.do("POST", "/v1/tokens/self/renew", tok, nil); r.status != http.StatusBadRequest || r.errCode() != "invalid_argument" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
}

func TestDeleteTenant(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	other := n.tenant("other")
	if r := n.do("POST", "/v1/keys", admin, map[string]string{"name": "k1", "type": "sm4"}); r.status != http.StatusCreated {
		t.Fatalf("key: %d %s", r.status, r.body)
	}
	var app struct {
		Token string `json:"token"`
	}
	n.do("POST", "/v1/tokens", admin, map[string]any{"policies": []string{"admin"}}).json(t, &app)
	var byRoot struct {
		Token string `json:"token"`
	}
	n.do("POST", "/v1/tokens", n.root, map[string]any{"policies": []string{"admin"}}, TenantHeader, "acme").json(t, &byRoot)

	if r := n.do("GET", "/v1/pki/acme/ca/nosuch/crl", "", nil); r.errCode() != "ca_not_found" {
		t.Fatalf("public CRL route before deletion: %d %s", r.status, r.body)
	}
	if r := n.do("DELETE", "/v1/tenants/acme", admin, nil); r.status != http.StatusForbidden {
		t.Fatalf("tenant admin deleting its tenant: %d %s", r.status, r.body)
	}
	if r := n.do("DELETE", "/v1/tenants/default", n.root, nil); r.status != http.StatusBadRequest {
		t.Fatalf("deleting the default tenant: %d %s", r.status, r.body)
	}
	if r := n.do("DELETE", "/v1/tenants/nosuch", n.root, nil); r.status != http.StatusNotFound {
		t.Fatalf("deleting an unknown tenant: %d %s", r.status, r.body)
	}
	if r := n.do("DELETE", "/v1/tenants/acme", n.root, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	for name, tok := range map[string]string{"admin": admin, "child": app.Token, "made by root": byRoot.Token} {
		if r := n.do("GET", "/v1/keys", tok, nil); r.status != http.StatusUnauthorized {
			t.Errorf("%s token of a deleted tenant: %d %s", name, r.status, r.body)
		}
	}
	if r := n.do("GET", "/v1/pki/acme/ca/nosuch/crl", "", nil); r.errCode() != "tenant_not_found" {
		t.Fatalf("public CRL route of a deleted tenant: %d %s", r.status, r.body)
	}
	if r := n.do("GET", "/v1/keys", n.root, nil, TenantHeader, "acme"); r.errCode() != "tenant_not_found" {
		t.Fatalf("root in a deleted tenant: %d %s", r.status, r.body)
	}
	if r := n.do("GET", "/v1/tenants", n.root, nil); strings.Contains(string(r.body), `"acme"`) {
		t.Fatalf("deleted tenant listed: %s", r.body)
	}
	if r := n.do("POST", "/v1/tenants", n.root, map[string]string{"name": "acme"}); r.status != http.StatusConflict {
		t.Fatalf("reusing a deleted tenant's name: %d %s", r.status, r.body)
	}
	// Deleting again finishes an interrupted deletion and is no error.
	if r := n.do("DELETE", "/v1/tenants/acme", n.root, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete again: %d %s", r.status, r.body)
	}
	if r := n.do("GET", "/v1/keys", other, nil); r.status != http.StatusOK {
		t.Fatalf("another tenant: %d %s", r.status, r.body)
	}
}
