package api

import (
	"net/http"
	"testing"

	"github.com/mimacrypto/mima/sdk"
)

// loginAs answers a login challenge of tenant with mima key key, whose
// certificate certPEM is, and returns the response.
func (n *testNode) loginAs(tenant, signer, key, certPEM string) response {
	n.t.Helper()
	var ch sdk.Challenge
	n.do("POST", "/v1/auth/challenge", "", map[string]string{"tenant": tenant}).json(n.t, &ch)
	var sig sdk.SignResult
	n.do("POST", "/v1/keys/"+key+"/sign", signer, map[string]any{"input": ch.Nonce}).json(n.t, &sig)
	return n.do("POST", "/v1/auth/login", "", sdk.LoginRequest{Tenant: tenant, ChallengeID: ch.ID, Signature: sig.Signature, Certificate: certPEM})
}

// TestLoginRuleGrantsOnlyWhatItsWriterHolds is issue 12's first
// escalation: a token allowed to write login rules wrote one granting
// "admin", certified a key of its own, logged in, and held an admin token
// for a year that outlived its own revocation.
func TestLoginRuleGrantsOnlyWhatItsWriterHolds(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	if r := n.do("POST", "/v1/ca", admin, map[string]any{"name": "staff", "type": "root", "subject": map[string]string{"common_name": "Staff CA"}}); r.status != http.StatusCreated {
		t.Fatalf("CA: %d %s", r.status, r.body)
	}
	n.do("PUT", "/v1/policies/esc", admin, map[string]any{"rules": []sdk.Rule{
		{Operations: []string{"auth.rules.write", "auth.rules.delete", "keys.create", "sign"}, Objects: []string{"*"}},
		{Operations: []string{"certs.issue"}, Objects: []string{"staff"}},
		{Operations: []string{"keys.read"}, Objects: []string{"mine"}},
	}})
	var app sdk.TokenCreated
	n.do("POST", "/v1/tokens", admin, map[string]any{"policies": []string{"esc"}}).json(t, &app)
	n.do("POST", "/v1/keys", app.Token, map[string]string{"name": "mine", "type": "sm2"})
	var cert sdk.Certificate
	if r := n.do("POST", "/v1/ca/staff/issue", app.Token, map[string]any{"key": "mine", "subject": map[string]string{"common_name": "intruder"}}); r.status != http.StatusOK {
		t.Fatalf("issue: %d %s", r.status, r.body)
	} else {
		r.json(t, &cert)
	}

	rule := map[string]any{"match": "subject", "pattern": "CN=intruder", "policies": []string{"admin"}, "ttl": "8760h"}
	if r := n.do("PUT", "/v1/auth/rules/esc", app.Token, rule); r.status != http.StatusForbidden {
		t.Fatalf("a non-admin wrote a login rule granting admin: %d %s", r.status, r.body)
	}
	if r := n.loginAs("acme", app.Token, "mine", cert.Certificate); r.status == http.StatusOK {
		t.Fatalf("logged in through a refused rule: %s", r.body)
	}

	// A rule granting what the writer holds works; its tokens are
	// grandchildren of the writer and die with it.
	rule["policies"] = []string{"esc"}
	if r := n.do("PUT", "/v1/auth/rules/esc", app.Token, rule); r.status != http.StatusOK {
		t.Fatalf("rule within the writer's grants: %d %s", r.status, r.body)
	}
	var login sdk.LoginResult
	if r := n.loginAs("acme", app.Token, "mine", cert.Certificate); r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.body)
	} else {
		r.json(t, &login)
	}
	if !login.ExpiresAt.Equal(app.ExpiresAt) && login.ExpiresAt.After(app.ExpiresAt) {
		t.Fatalf("the login token outlives its rule's writer: %v > %v", login.ExpiresAt, app.ExpiresAt)
	}
	if r := n.do("GET", "/v1/tokens/self", login.Token, nil); r.status != http.StatusOK {
		t.Fatalf("login token: %d %s", r.status, r.body)
	}
	if r := n.do("DELETE", "/v1/tokens/"+app.Accessor, admin, nil); r.status != http.StatusNoContent {
		t.Fatalf("revoke the writer: %d %s", r.status, r.body)
	}
	if r := n.do("GET", "/v1/tokens/self", login.Token, nil); r.errCode() != "token_revoked" {
		t.Fatalf("the login token after its rule's writer was revoked: %d %s", r.status, r.body)
	}
	if r := n.loginAs("acme", admin, "mine", cert.Certificate); r.status == http.StatusOK {
		t.Fatalf("the rule of a revoked writer still logs in: %s", r.body)
	}

	// Deleting (or rewriting) a rule revokes the tokens it issued.
	n.do("PUT", "/v1/auth/rules/esc", admin, rule)
	n.loginAs("acme", admin, "mine", cert.Certificate).json(t, &login)
	if r := n.do("DELETE", "/v1/auth/rules/esc", admin, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete rule: %d %s", r.status, r.body)
	}
	if r := n.do("GET", "/v1/tokens/self", login.Token, nil); r.errCode() != "token_revoked" {
		t.Fatalf("the login token after its rule was deleted: %d %s", r.status, r.body)
	}
}
