package api

import (
	"net/http"
	"testing"
)

// TestChallengeUnknownTenant checks that no challenge is made, and none
// of any tenant's budget spent, for a tenant that does not exist.
func TestChallengeUnknownTenant(t *testing.T) {
	n := newTestNode(t)
	n.tenant("acme")
	r := n.do("POST", "/v1/auth/challenge", "", map[string]string{"tenant": "nosuch"})
	if r.status != http.StatusNotFound || r.errCode() != "tenant_not_found" {
		t.Errorf("challenge for an unknown tenant: %d %s", r.status, r.body)
	}
	if r := n.do("POST", "/v1/auth/challenge", "", map[string]string{"tenant": "acme"}); r.status != http.StatusOK {
		t.Errorf("challenge for acme: %d %s", r.status, r.body)
	}
}
