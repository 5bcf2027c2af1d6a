package api

import (
	"net/http"
	"slices"
	"testing"

	"github.com/mimacrypto/mima/sdk"
)

// TestHealthNamesSealAndListeners checks that health tells an assessor
// the seal type and every listener, and nothing when the node was not
// told them.
func TestHealthNamesSealAndListeners(t *testing.T) {
	listeners := []sdk.Listener{{Addr: "0.0.0.0:8200", Protocol: sdk.ProtocolTLS}, {Addr: ":8443", Protocol: sdk.ProtocolTLCP}}
	n := newTestNode(t, WithDeployment(Deployment{Seal: sdk.SealPKCS11, Listeners: listeners}))
	var h sdk.Health
	r := n.do("GET", "/v1/sys/health", "", nil)
	r.json(t, &h)
	if r.status != http.StatusOK || h.SealType != sdk.SealPKCS11 || !slices.Equal(h.Listeners, listeners) {
		t.Fatalf("health: %d %s", r.status, r.body)
	}

	bare := newTestNode(t)
	var b sdk.Health
	r = bare.do("GET", "/v1/sys/health", "", nil)
	r.json(t, &b)
	if b.SealType != "" || b.Listeners != nil {
		t.Fatalf("health without a deployment: %s", r.body)
	}
}
