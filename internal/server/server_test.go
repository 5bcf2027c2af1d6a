package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/mimacrypto/mima/internal/tlcptest"
	"github.com/mimacrypto/mima/tlcp"
)

// TestShutdownFinishesInFlightRequests starts a request, cancels the
// server's context while the handler is still working, and checks that
// the request completes and serve returns cleanly.
func TestShutdownFinishesInFlightRequests(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Defaults()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, []net.Listener{ln}, h, cfg, slog.New(slog.DiscardHandler)) }()

	type answer struct {
		body string
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			got <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- answer{string(b), err}
	}()
	<-started
	cancel()
	// New connections are refused once shutdown has begun.
	for {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
	}
	close(release)
	if a := <-got; a.err != nil || a.body != "finished" {
		t.Fatalf("in-flight request: %q, %v", a.body, a.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// TestEndpoints serves a handler on the endpoints of several
// configurations and reaches each over the protocols it should speak.
func TestEndpoints(t *testing.T) {
	dir := t.TempDir()
	certPEM := writeSelfSigned(t, dir)
	ca := tlcptest.NewCA(t, "Endpoint Root")
	server := ca.Dual(t, "server.test", func(sign, _ *smx509.Certificate) {
		sign.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}).WriteFiles(t, dir, "server")
	client := ca.Dual(t, "client.test", nil)
	tlcptest.WriteCert(t, filepath.Join(dir, "ca.pem"), ca.Cert.Raw)
	stranger := tlcptest.NewCA(t, "Stranger Root").Dual(t, "client.test", nil)
	revoked := ca.Dual(t, "client.test", nil)
	revokedCert, err := smx509.ParseCertificate(revoked.SignCert)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := smx509.CreateRevocationList(rand.Reader, &smx509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: []smx509.RevocationListEntry{{SerialNumber: revokedCert.SerialNumber, RevocationTime: time.Now()}},
	}, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	crlFile := filepath.Join(dir, "ca.crl")
	if err := os.WriteFile(crlFile, crl, 0o600); err != nil {
		t.Fatal(err)
	}

	withTLS := func(c *Config) {
		c.TLSCertFile, c.TLSKeyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	}
	withTLCP := func(addr string) func(*Config) {
		return func(c *Config) {
			c.TLCPAddr = addr
			c.TLCPSignCert, c.TLCPSignKey, c.TLCPEncCert, c.TLCPEncKey = server.SignCert, server.SignKey, server.EncCert, server.EncKey
		}
	}
	requireClient := func(c *Config) { c.TLCPClientCA, c.TLCPClientAuth = filepath.Join(dir, "ca.pem"), "require" }
	withCRL := func(c *Config) { c.TLCPClientCRLs = []string{crlFile} }

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	tlsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	tlcpClient := func(id *tlcptest.Dual) *http.Client {
		cfg := &tlcp.Config{RootCAs: ca.Pool}
		if id != nil {
			cfg.Certificate = &tlcp.Certificate{SignCertificate: id.SignCert, SignKey: id.SignKey, EncCertificate: id.EncCert, EncKey: id.EncKey}
		}
		return &http.Client{Transport: &http.Transport{DialTLSContext: (&tlcp.Dialer{Config: cfg}).DialContext}}
	}
	type reach struct {
		client *http.Client
		ok     bool
	}
	for _, tc := range []struct {
		name   string
		config []func(*Config)
		urls   []string // the endpoints' URLs, TLCP first
		reach  [][]reach
	}{
		{"http", nil, []string{"http://"}, [][]reach{{{http.DefaultClient, true}}}},
		{"https", []func(*Config){withTLS}, []string{"https://"}, [][]reach{{{tlsClient, true}, {tlcpClient(nil), false}}}},
		{"tlcp beside http", []func(*Config){withTLCP("localhost:0")}, []string{"https://", "http://"},
			[][]reach{{{tlcpClient(nil), true}, {tlsClient, false}}, {{http.DefaultClient, true}}}},
		{"tlcp and tls on one port", []func(*Config){withTLS, withTLCP("127.0.0.1:0")}, []string{"https://"},
			[][]reach{{{tlcpClient(nil), true}, {tlsClient, true}}}},
		{"tlcp requiring client certificates", []func(*Config){withTLCP("localhost:0"), requireClient}, []string{"https://", "http://"},
			[][]reach{{{tlcpClient(&client), true}, {tlcpClient(nil), false}, {tlcpClient(&stranger), false}, {tlcpClient(&revoked), true}}, {{http.DefaultClient, true}}}},
		{"tlcp checking a CRL", []func(*Config){withTLCP("localhost:0"), requireClient, withCRL}, []string{"https://", "http://"},
			[][]reach{{{tlcpClient(&client), true}, {tlcpClient(&revoked), false}}, {{http.DefaultClient, true}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults()
			cfg.ListenAddr = "127.0.0.1:0"
			for _, edit := range tc.config {
				edit(&cfg)
			}
			if err := cfg.validate(); err != nil {
				t.Fatal(err)
			}
			eps, err := listen(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(eps) != len(tc.urls) {
				t.Fatalf("%d endpoints, want %d", len(eps), len(tc.urls))
			}
			lns := make([]net.Listener, len(eps))
			for i, ep := range eps {
				lns[i] = ep.ln
				if !strings.HasPrefix(ep.url, tc.urls[i]) {
					t.Fatalf("endpoint %d is %s, want %s…", i, ep.url, tc.urls[i])
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() {
				served <- serve(ctx, lns, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }), cfg, slog.New(slog.DiscardHandler))
			}()
			for i, ep := range eps {
				for j, r := range tc.reach[i] {
					resp, err := r.client.Get(ep.url)
					if err == nil {
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if string(b) != "ok" {
							err = fmt.Errorf("answered %q", b)
						}
					}
					if (err == nil) != r.ok {
						t.Errorf("%s, client %d: error %v, want success %v", ep.url, j, err, r.ok)
					}
				}
			}
			cancel()
			if err := <-served; err != nil {
				t.Fatalf("serve: %v", err)
			}
		})
	}
}

func writeSelfSigned(t *testing.T, dir string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM
}
