package e2e

import (
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/tlcptest"
	"github.com/mimacrypto/mima/sdk"
)

// TestGatewayChain puts two mima gateways between a legacy TCP client and
// a legacy TCP service: the client-mode gateway speaks TLCP with its
// certificate to the TCP-mode one, which admits only that subject. Both
// audit the connection; the TCP-mode gateway's log verifies offline under
// its signing key, and its metrics count the connection.
func TestGatewayChain(t *testing.T) {
	dir := t.TempDir()
	ca := tlcptest.NewCA(t, "Gateway Root")
	caFile := filepath.Join(dir, "ca.pem")
	tlcptest.WriteCert(t, caFile, ca.Cert.Raw)
	gatewayID := ca.Dual(t, "gateway.test", nil)
	gw := gatewayID.WriteFiles(t, dir, "gateway")
	cl := ca.Dual(t, "client.test", nil).WriteFiles(t, dir, "client")

	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	go func() {
		for {
			c, err := backend.Accept()
			if err != nil {
				return
			}
			b, _ := io.ReadAll(c)
			_, _ = c.Write(append([]byte("echo:"), b...))
			c.Close()
		}
	}()

	serverAudit := filepath.Join(dir, "audit-server")
	front := startProcess(t, "gateway", "--listen", "127.0.0.1:0", "--forward", backend.Addr().String(),
		"--sign-cert", gw.SignCert, "--sign-key", gw.SignKey, "--enc-cert", gw.EncCert, "--enc-key", gw.EncKey,
		"--ca", caFile, "--allow-subject", "CN=client.test,O=mima test", "--audit-dir", serverAudit, "--metrics-addr", "127.0.0.1:0")
	legacy := startProcess(t, "gateway", "--mode", "client", "--listen", "127.0.0.1:0", "--forward", front.addr,
		"--server-name", "gateway.test", "--ca", caFile, "--allow-subject", "/CN=gateway.test",
		"--sign-cert", cl.SignCert, "--sign-key", cl.SignKey, "--enc-cert", cl.EncCert, "--enc-key", cl.EncKey,
		"--audit-dir", filepath.Join(dir, "audit-client"))

	c, err := net.Dial("tcp", legacy.addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := io.WriteString(c, "legacy request"); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	answer, err := io.ReadAll(c)
	c.Close()
	if err != nil || string(answer) != "echo:legacy request" {
		t.Fatalf("answer %q, %v", answer, err)
	}

	var metricsURL string
	for _, line := range front.banner {
		if _, u, ok := strings.Cut(line, " metrics on "); ok {
			metricsURL = u
		}
	}
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`mima_gateway_connections_total{outcome="accepted"} 1`, `mima_gateway_bytes_total{direction="up"} 14`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	legacy.stop()
	front.stop()
	leaf, err := smx509.ParseCertificate(gatewayID.SignCert)
	if err != nil {
		t.Fatal(err)
	}
	var rep sdk.AuditReport
	cliJSON(t, "", "", &rep, "audit", "verify", "--audit-dir", serverAudit, "--public-key", base64.StdEncoding.EncodeToString(leaf.RawSubjectPublicKeyInfo))
	if !rep.OK || rep.Records < 2 || rep.Checkpoints < 1 {
		t.Fatalf("audit report %+v", rep)
	}
	exported := must(t, &server{}, "", "", "audit", "export", "--audit-dir", serverAudit)
	if !strings.Contains(exported, `"operation":"gateway.tcp"`) || !strings.Contains(exported, "CN=client.test") {
		t.Fatalf("audit export:\n%s", exported)
	}
	clientLog := must(t, &server{}, "", "", "audit", "export", "--audit-dir", filepath.Join(dir, "audit-client"))
	if !strings.Contains(clientLog, `"operation":"gateway.client"`) || !strings.Contains(clientLog, "CN=gateway.test") {
		t.Fatalf("client gateway audit export:\n%s", clientLog)
	}
}
