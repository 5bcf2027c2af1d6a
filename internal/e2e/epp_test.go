package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	bin "encoding/binary"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/interoptest"
	"github.com/mimacrypto/mima/tlcp"
)

// eppGreeting is what the echo registry sends first, as an EPP server
// greets (RFC 5730 section 2.4).
const eppGreeting = `<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><greeting><svID>registry.test</svID></greeting></epp>`

// writeEPP writes one EPP data unit with its 4-byte length header, which
// counts itself (RFC 5734 section 4).
func writeEPP(w io.Writer, xml string) error {
	frame := bin.BigEndian.AppendUint32(nil, uint32(4+len(xml)))
	_, err := w.Write(append(frame, xml...))
	return err
}

// readEPP reads one EPP data unit.
func readEPP(r io.Reader) (string, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return "", err
	}
	n := bin.BigEndian.Uint32(head[:])
	if n < 4 || n > 1<<20 {
		return "", fmt.Errorf("EPP frame length %d", n)
	}
	body := make([]byte, n-4)
	_, err := io.ReadFull(r, body)
	return string(body), err
}

// eppEcho is a small EPP registry: it greets, then answers every command
// frame with the same frame.
func eppEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if writeEPP(c, eppGreeting) != nil {
					return
				}
				for {
					cmd, err := readEPP(c)
					if err != nil || writeEPP(c, cmd) != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// tlsPKI writes a TLS CA and, signed by it, a server certificate for name
// and a client certificate for clientCN (ECDSA P-256, PEM files under
// dir), the identities of a registrar that speaks TLS.
func tlsPKI(t *testing.T, dir, name, clientCN string) (caFile string, caCert *x509.Certificate, client tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkixName("TLS Test CA"), NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err = x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, tmpl *x509.Certificate) tls.Certificate {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = big.NewInt(serial), time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	server := leaf(2, &x509.Certificate{Subject: pkixName(name), DNSNames: []string{name}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	client = leaf(3, &x509.Certificate{Subject: pkixName(clientCN), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	keyDER, err := x509.MarshalPKCS8PrivateKey(server.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	interoptest.WriteFiles(t, dir, map[string][]byte{
		"tls-ca.pem":     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		"tls-server.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate[0]}),
		"tls-server.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	})
	return filepath.Join(dir, "tls-ca.pem"), caCert, client
}

// eppSession greets, sends a login command and reads its echo over c.
func eppSession(c net.Conn) error {
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	greeting, err := readEPP(c)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if greeting != eppGreeting {
		return fmt.Errorf("greeting %q", greeting)
	}
	login := `<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><login><clID>registrar-1</clID></login></command></epp>`
	if err := writeEPP(c, login); err != nil {
		return err
	}
	if echo, err := readEPP(c); err != nil || echo != login {
		return fmt.Errorf("answer %q, %v", echo, err)
	}
	return nil
}

// TestEPPOverTLCPGateway is the registrar-registry channel of issue 15:
// EPP (RFC 5730/5734, 4-byte length frames) to a registry behind mima
// gateway, which accepts TLCP and TLS clients on one port. The TLCP
// registrar's dual certificates and the gateway's come from a mima CA;
// the gateway admits only the registrar's subject. A TLS registrar
// reaches the same registry on the same port; a TLCP client without a
// certificate and one of another subject are refused, and the audit log
// holds each connection.
func TestEPPOverTLCPGateway(t *testing.T) {
	dir := t.TempDir()
	file := func(name string) string { return filepath.Join(dir, name) }
	srv, root := devServer(t)
	must(t, srv, root, "", "ca", "create-root", "registry-ca", "--cn", "Registry Channel CA")
	interoptest.WriteFiles(t, dir, map[string][]byte{"ca.pem": []byte(must(t, srv, root, "", "ca", "chain", "registry-ca"))})
	for _, id := range []struct{ name, subject, san string }{
		{"gateway", "/CN=epp.registry.test", "subjectAltName=DNS:epp.registry.test"},
		{"registrar", "/CN=registrar-1.test", "subjectAltName=DNS:registrar-1.test"},
		{"stranger", "/CN=stranger.test", "subjectAltName=DNS:stranger.test"},
	} {
		interoptest.OpenSSL(t, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", id.name+"-sign.key")
		interoptest.OpenSSL(t, dir, "req", "-new", "-key", id.name+"-sign.key", "-sm3", "-sigopt", "distid:1234567812345678",
			"-subj", id.subject, "-addext", id.san, "-out", id.name+".csr")
		must(t, srv, root, "", "ca", "issue-dual", "registry-ca", "--in", file(id.name+".csr"), "--out", file(id.name+"-sign.pem"),
			"--enc-out", file(id.name+"-enc.pem"), "--key-out", file(id.name+"-enc.key"), "--sign-key", file(id.name+"-sign.key"))
	}
	tlsCA, tlsCACert, tlsClient := tlsPKI(t, dir, "epp.registry.test", "registrar-1.test")

	audit := file("audit")
	gw := startProcess(t, "gateway", "--listen", "127.0.0.1:0", "--forward", eppEcho(t),
		"--sign-cert", file("gateway-sign.pem"), "--sign-key", file("gateway-sign.key"),
		"--enc-cert", file("gateway-enc.pem"), "--enc-key", file("gateway-enc.key"),
		"--ca", file("ca.pem"), "--allow-subject", "CN=registrar-1.test",
		"--tls-cert", file("tls-server.pem"), "--tls-key", file("tls-server.key"), "--tls-client-ca", tlsCA,
		"--audit-dir", audit)

	roots, err := tlcp.LoadCertPool(file("ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	tlcpDial := func(id string) (net.Conn, error) {
		cfg := &tlcp.Config{RootCAs: roots, ServerName: "epp.registry.test"}
		if id != "" {
			cert, err := tlcp.LoadCertificate(file(id+"-sign.pem"), file(id+"-sign.key"), file(id+"-enc.pem"), file(id+"-enc.key"))
			if err != nil {
				return nil, err
			}
			cfg.Certificate = cert
		}
		c, err := tlcp.Dial("tcp", gw.addr, cfg)
		if err != nil {
			return nil, err
		}
		return c, c.Handshake()
	}
	c, err := tlcpDial("registrar")
	if err != nil {
		t.Fatalf("TLCP registrar: %v", err)
	}
	if err := eppSession(c); err != nil {
		t.Fatalf("EPP over TLCP: %v", err)
	}
	c.Close()

	tlsRoots := x509.NewCertPool()
	tlsRoots.AddCert(tlsCACert)
	tc, err := tls.Dial("tcp", gw.addr, &tls.Config{RootCAs: tlsRoots, ServerName: "epp.registry.test", Certificates: []tls.Certificate{tlsClient}})
	if err != nil {
		t.Fatalf("TLS registrar: %v", err)
	}
	if err := eppSession(tc); err != nil {
		t.Fatalf("EPP over TLS on the same port: %v", err)
	}
	tc.Close()

	for _, id := range []string{"", "stranger"} {
		c, err := tlcpDial(id)
		if err == nil {
			err = eppSession(c)
			c.Close()
		}
		if err == nil {
			t.Errorf("TLCP client %q reached the registry", id)
		}
	}

	gw.stop()
	log := must(t, &server{}, "", "", "audit", "export", "--audit-dir", audit)
	if n := strings.Count(log, `"operation":"gateway.tcp"`); n != 4 {
		t.Errorf("%d gateway records, want 4:\n%s", n, log)
	}
	if strings.Count(log, "CN=registrar-1.test") != 2 || !strings.Contains(log, `"code":"subject_not_allowed"`) || !strings.Contains(log, `"code":"handshake_failed"`) {
		t.Errorf("audit log:\n%s", log)
	}
}
