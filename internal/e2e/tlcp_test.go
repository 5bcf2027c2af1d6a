package e2e

import (
	"context"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/smx509"
	"github.com/mimacrypto/mima/internal/interoptest"
)

// TestTLCPWithCertificatesFromItsOwnCA issues the server's and two
// operators' dual certificates from a mima CA (OpenSSL makes the signing
// keys and requests), revokes one, restarts the server with a TLCP
// endpoint that requires client certificates and checks the CA's CRL, and
// drives it with the CLI over TLCP.
func TestTLCPWithCertificatesFromItsOwnCA(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	srv, root, share := initialised(t, dataDir)
	must(t, srv, root, "", "ca", "create-root", "transport", "--cn", "Transport Root CA")
	interoptest.WriteFiles(t, dir, map[string][]byte{"ca.pem": []byte(must(t, srv, root, "", "ca", "chain", "transport"))})
	file := func(name string) string { return filepath.Join(dir, name) }
	for _, id := range []struct{ name, subject, san string }{
		{"server", "/CN=mima.test", "subjectAltName=IP:127.0.0.1"},
		{"operator", "/CN=operator.test", "subjectAltName=DNS:operator.test"},
		{"former", "/CN=former.test", "subjectAltName=DNS:former.test"},
	} {
		interoptest.OpenSSL(t, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", id.name+"-sign.key")
		interoptest.OpenSSL(t, dir, "req", "-new", "-key", id.name+"-sign.key", "-sm3", "-sigopt", "distid:1234567812345678",
			"-subj", id.subject, "-addext", id.san, "-out", id.name+".csr")
		must(t, srv, root, "", "ca", "issue-dual", "transport", "--in", file(id.name+".csr"), "--out", file(id.name+"-sign.pem"),
			"--enc-out", file(id.name+"-enc.pem"), "--key-out", file(id.name+"-enc.key"), "--sign-key", file(id.name+"-sign.key"))
	}
	// The former operator's certificate is revoked; the server reads the
	// CA's CRL from a file.
	former, err := os.ReadFile(file("former-sign.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(former)
	formerCert, err := smx509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	must(t, srv, root, "", "ca", "revoke", "transport", fmt.Sprintf("%032x", formerCert.SerialNumber), "--reason", "affiliationChanged")
	must(t, srv, root, "", "ca", "crl", "transport", "--out", file("transport.crl"))
	srv.stop()

	srv = startServer(t, "--tlcp-client-crl", file("transport.crl"), "--storage", "bolt", "--data-dir", dataDir, "--tlcp-addr", "localhost:0",
		"--tlcp-sign-cert", file("server-sign.pem"), "--tlcp-sign-key", file("server-sign.key"),
		"--tlcp-enc-cert", file("server-enc.pem"), "--tlcp-enc-key", file("server-enc.key"),
		"--tlcp-client-ca", file("ca.pem"), "--tlcp-client-auth", "require")
	var tlcpAddr string
	for _, line := range srv.banner {
		if _, url, ok := strings.Cut(line, " serving TLCP on "); ok {
			tlcpAddr = url
		}
	}
	if !strings.HasPrefix(tlcpAddr, "https://127.0.0.1:") {
		t.Fatalf("no TLCP endpoint in %q", srv.banner)
	}
	if _, err := srv.client(t, "").Sys().Unseal(context.Background(), share); err != nil {
		t.Fatal(err)
	}

	overTLCP := []string{"--address", tlcpAddr, "--tlcp", "--ca-cert", file("ca.pem")}
	operator := append(overTLCP, "--tlcp-client-sign-cert", file("operator-sign.pem"), "--tlcp-client-sign-key", file("operator-sign.key"),
		"--tlcp-client-enc-cert", file("operator-enc.pem"), "--tlcp-client-enc-key", file("operator-enc.key"))
	must(t, srv, root, "", append(operator, "key", "create", "wire", "--type", "sm4")...)
	ct := strings.TrimSpace(must(t, srv, root, "attack at dawn", append(operator, "encrypt", "wire")...))
	if pt := must(t, srv, root, ct, append(operator, "decrypt", "wire")...); pt != "attack at dawn" {
		t.Fatalf("decrypted over TLCP: %q", pt)
	}

	// A revoked client certificate is refused.
	formerArgs := append(overTLCP, "--tlcp-client-sign-cert", file("former-sign.pem"), "--tlcp-client-sign-key", file("former-sign.key"),
		"--tlcp-client-enc-cert", file("former-enc.pem"), "--tlcp-client-enc-key", file("former-enc.key"))
	if r := cli(t, srv.addr, root, append(formerArgs, "status")...); r.code == 0 || !strings.Contains(r.stderr, "revoked") {
		t.Fatalf("revoked client certificate: exit %d: %s", r.code, r.stderr)
	}

	// Without a client certificate the TLCP endpoint refuses; plain HTTP
	// still answers; a TLS client is not spoken to.
	if r := cli(t, srv.addr, root, append(overTLCP, "status")...); r.code == 0 || !strings.Contains(r.stderr, "tlcp") {
		t.Fatalf("TLCP without a client certificate: exit %d: %s", r.code, r.stderr)
	}
	if r := cli(t, srv.addr, root, "--address", tlcpAddr, "status"); r.code == 0 {
		t.Fatalf("TLS client on the TLCP endpoint succeeded: %s", r.stdout)
	}
	must(t, srv, root, "", "key", "show", "wire")
}
