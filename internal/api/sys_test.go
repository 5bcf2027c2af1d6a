package api

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/sdk"
)

// TestDeploymentOnlyToTokenHolders: the public health check says nothing
// of how the node is deployed; GET /v1/sys/deployment tells any valid
// token the seal type and every listener, and refuses a caller without
// one.
func TestDeploymentOnlyToTokenHolders(t *testing.T) {
	listeners := []sdk.Listener{{Addr: "0.0.0.0:8200", Protocol: sdk.ProtocolTLS}, {Addr: ":8443", Protocol: sdk.ProtocolTLCP}}
	n := newTestNode(t, WithDeployment(Deployment{Seal: sdk.SealPKCS11, Listeners: listeners}))
	r := n.do("GET", "/v1/sys/health", "", nil)
	if r.status != http.StatusOK || strings.Contains(string(r.body), "seal_type") || strings.Contains(string(r.body), "8443") {
		t.Fatalf("public health: %d %s", r.status, r.body)
	}
	if r := n.do("GET", "/v1/sys/deployment", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("deployment without a token: %d %s", r.status, r.body)
	}
	// A token of another tenant whose one policy grants a single key.
	app := n.policyToken(n.tenant("acme"), "one-key", []string{"keys.read"}, []string{"k1"})
	for _, tok := range []string{n.root, app} {
		var d sdk.Deployment
		r := n.do("GET", "/v1/sys/deployment", tok, nil)
		r.json(t, &d)
		if r.status != http.StatusOK || d.SealType != sdk.SealPKCS11 || !slices.Equal(d.Listeners, listeners) {
			t.Fatalf("deployment: %d %s", r.status, r.body)
		}
	}
}
