package server

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/sdk"
)

// TestDeployment checks the seal type and listeners that health reports
// for each way of configuring them.
func TestDeployment(t *testing.T) {
	tlcpFiles := func(c *Config) {
		c.TLCPSignCert, c.TLCPSignKey, c.TLCPEncCert, c.TLCPEncKey = "s.pem", "s.key", "e.pem", "e.key"
	}
	for _, tc := range []struct {
		name      string
		edit      func(*Config)
		seal      string
		listeners []sdk.Listener
	}{
		{"plain http, key shares", func(c *Config) {}, sdk.SealShares,
			[]sdk.Listener{{Addr: "127.0.0.1:8200", Protocol: sdk.ProtocolHTTP}}},
		{"tls and tlcp apart, kek", func(c *Config) {
			c.ListenAddr, c.TLSCertFile, c.TLSKeyFile, c.TLCPAddr, c.UnsealKEKFile = "0.0.0.0:8200", "c.pem", "k.pem", ":8443", "kek"
			tlcpFiles(c)
		}, sdk.SealKEK, []sdk.Listener{{Addr: "0.0.0.0:8200", Protocol: sdk.ProtocolTLS}, {Addr: ":8443", Protocol: sdk.ProtocolTLCP}}},
		{"http beside tlcp", func(c *Config) {
			c.TLCPAddr = ":8443"
			tlcpFiles(c)
		}, sdk.SealShares, []sdk.Listener{{Addr: "127.0.0.1:8200", Protocol: sdk.ProtocolHTTP}, {Addr: ":8443", Protocol: sdk.ProtocolTLCP}}},
		{"tls and tlcp on one port, pkcs11", func(c *Config) {
			c.ListenAddr, c.TLSCertFile, c.TLSKeyFile, c.TLCPAddr = ":8200", "c.pem", "k.pem", ":8200"
			tlcpFiles(c)
			c.Seal.Type = "pkcs11"
		}, sdk.SealPKCS11, []sdk.Listener{{Addr: ":8200", Protocol: sdk.ProtocolTLSTLCP}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults()
			tc.edit(&cfg)
			d := cfg.deployment()
			if d.Seal != tc.seal || !slices.Equal(d.Listeners, tc.listeners) {
				t.Fatalf("deployment %+v, want seal %s, listeners %+v", d, tc.seal, tc.listeners)
			}
		})
	}
}

// TestDeploymentReported checks that an assembled node tells a token
// holder its configured listeners and seal, and the public health check
// neither.
func TestDeploymentReported(t *testing.T) {
	cfg := Defaults()
	cfg.Storage = "inmem"
	cfg.ListenAddr, cfg.TLSCertFile, cfg.TLSKeyFile, cfg.TLCPAddr = "0.0.0.0:8200", "c.pem", "k.pem", ":8443"
	n, root := startDev(t, cfg)
	defer n.close()
	rec := httptest.NewRecorder()
	n.api.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/sys/health", nil))
	if rec.Code != 200 || strings.Contains(rec.Body.String(), "8443") {
		t.Fatalf("public health: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v1/sys/deployment", nil)
	req.Header.Set("Authorization", "Bearer "+root)
	n.api.ServeHTTP(rec, req)
	var d sdk.Deployment
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	want := []sdk.Listener{{Addr: "0.0.0.0:8200", Protocol: sdk.ProtocolTLS}, {Addr: ":8443", Protocol: sdk.ProtocolTLCP}}
	if d.SealType != sdk.SealShares || !slices.Equal(d.Listeners, want) {
		t.Fatalf("deployment: %s", rec.Body)
	}
}
