package gateway

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/tlcptest"
	"github.com/mimacrypto/mima/tlcp"
)

// ioDeadline stops a broken test from hanging; no test relies on it.
const ioDeadline = time.Minute

// fixture is a CA with the gateway's and two clients' certificates.
type fixture struct {
	ca                        *tlcptest.CA
	gateway, client, stranger *tlcp.Certificate
}

func newFixture(t *testing.T) *fixture {
	ca := tlcptest.NewCA(t, "Gateway Test Root")
	cert := func(name string) *tlcp.Certificate {
		d := ca.Dual(t, name, nil)
		return &tlcp.Certificate{SignCertificate: d.SignCert, SignKey: d.SignKey, EncCertificate: d.EncCert, EncKey: d.EncKey}
	}
	return &fixture{ca: ca, gateway: cert("gateway.test"), client: cert("client.test"), stranger: cert("stranger.test")}
}

// serverTLCP accepts TLCP with client certificates required.
func (f *fixture) serverTLCP(auth tlcp.ClientAuthType) *tlcp.Config {
	return &tlcp.Config{Certificate: f.gateway, ClientCAs: f.ca.Pool, ClientAuth: auth}
}

// clientTLCP reaches the gateway as id (nil: no certificate).
func (f *fixture) clientTLCP(id *tlcp.Certificate) *tlcp.Config {
	return &tlcp.Config{RootCAs: f.ca.Pool, ServerName: "gateway.test", Certificate: id}
}

// memAuditor keeps the audit entries.
type memAuditor struct {
	mu      sync.Mutex
	entries []audit.Entry
}

func (m *memAuditor) Log(_ context.Context, e audit.Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = append(m.entries, e)
	return nil
}

func (m *memAuditor) all() []audit.Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]audit.Entry(nil), m.entries...)
}

// echoBackend answers each connection, once the client has finished
// sending, with "echo:" and what it sent, and reports what each
// connection sent in accept order.
func echoBackend(t *testing.T) (string, <-chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(ioDeadline))
			b, _ := io.ReadAll(c)
			got <- string(b)
			_, _ = c.Write(append([]byte("echo:"), b...))
			c.Close()
		}
	}()
	return ln.Addr().String(), got
}

// running is a gateway serving on loopback.
type running struct {
	addr    string
	audit   *memAuditor
	reg     *prometheus.Registry
	cancel  context.CancelFunc
	stopped chan error
}

func start(t *testing.T, cfg Config) *running {
	t.Helper()
	r := &running{audit: &memAuditor{}, reg: prometheus.NewRegistry(), stopped: make(chan error, 1)}
	g, err := New(cfg, WithAuditor(r.audit), WithRegisterer(r.reg))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	var ctx context.Context
	ctx, r.cancel = context.WithCancel(context.Background())
	go func() { r.stopped <- g.Serve(ctx, ln) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop ends Serve and waits for every connection to finish.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	if err := <-r.stopped; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// exchange sends msg over c, half-closes and reads the answer to the end.
func exchange(c net.Conn, msg string) (string, error) {
	_ = c.SetDeadline(time.Now().Add(ioDeadline))
	if _, err := io.WriteString(c, msg); err != nil {
		return "", err
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

func TestTCPMode(t *testing.T) {
	f := newFixture(t)
	backend, got := echoBackend(t)
	gw := start(t, Config{Mode: TCP, Forward: backend, TLCP: f.serverTLCP(tlcp.RequireAndVerifyClientCert),
		AllowedSubjects: []string{"CN=client.test", "CN=someone.else"}, ShutdownGrace: ioDeadline})
	c, err := tlcp.Dial("tcp", gw.addr, f.clientTLCP(f.client))
	if err != nil {
		t.Fatal(err)
	}
	answer, err := exchange(c, "hello")
	if err != nil || answer != "echo:hello" {
		t.Fatalf("answer %q, %v", answer, err)
	}
	if sent := <-got; sent != "hello" {
		t.Fatalf("backend got %q", sent)
	}
	c.Close()
	gw.stop(t)
	entries := gw.audit.all()
	if len(entries) != 1 {
		t.Fatalf("%d audit records, want 1", len(entries))
	}
	e := entries[0]
	if e.Operation != "gateway.tcp" || e.Object != backend || e.Code != "" || !strings.Contains(e.Accessor, "CN=client.test") ||
		!strings.HasPrefix(e.Remote, "127.0.0.1:") || !strings.HasPrefix(e.RequestID, "gw-") {
		t.Fatalf("audit record %+v", e)
	}
	for name, want := range map[string]float64{"up": 5, "down": 10} {
		if v := counter(t, gw.reg, "mima_gateway_bytes_total", name); v != want {
			t.Errorf("bytes %s = %v, want %v", name, v, want)
		}
	}
	if n := histogramCount(t, gw.reg, "mima_gateway_handshake_duration_seconds"); n != 1 {
		t.Errorf("handshakes observed = %d, want 1", n)
	}
	if v := counter(t, gw.reg, "mima_gateway_connections_total", "accepted"); v != 1 {
		t.Errorf("accepted connections = %v", v)
	}
}

// counter returns the value of the series of a counter family whose label
// has value, or -1.
func counter(t *testing.T, reg *prometheus.Registry, family, value string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != family {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return -1
}

// histogramCount returns the sample count of a histogram family, or -1.
func histogramCount(t *testing.T, reg *prometheus.Registry, family string) int {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() == family {
			return int(mf.GetMetric()[0].GetHistogram().GetSampleCount())
		}
	}
	return -1
}

// TestRefusals checks that refused connections are audited with their
// code, counted, and never reach the forward address.
func TestRefusals(t *testing.T) {
	f := newFixture(t)
	other := tlcptest.NewCA(t, "Other Root")
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := closed.Addr().String()
	closed.Close()
	for _, tc := range []struct {
		name     string
		client   *tlcp.Config
		forward  string // "" means the echo backend
		code     string
		accessor string
	}{
		{"subject not allowed", f.clientTLCP(f.stranger), "", CodeSubjectNotAllowed, "CN=stranger.test"},
		{"no client certificate", f.clientTLCP(nil), "", CodeHandshakeFailed, ""},
		{"client distrusts the gateway", &tlcp.Config{RootCAs: other.Pool, ServerName: "gateway.test", Certificate: f.client}, "", CodeHandshakeFailed, ""},
		{"forward unreachable", f.clientTLCP(f.client), unreachable, CodeForwardUnreachable, "CN=client.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backend, got := echoBackend(t)
			forward := tc.forward
			if forward == "" {
				forward = backend
			}
			gw := start(t, Config{Mode: TCP, Forward: forward, TLCP: f.serverTLCP(tlcp.RequireAndVerifyClientCert),
				AllowedSubjects: []string{"/O=mima test/CN=client.test"}})
			if c, err := tlcp.Dial("tcp", gw.addr, tc.client); err == nil {
				if answer, err := exchange(c, "let me in"); err == nil && answer != "" {
					t.Fatalf("refused connection answered %q", answer)
				}
				c.Close()
			}
			if tc.forward == "" {
				// The next good connection is the first the backend sees.
				c, err := tlcp.Dial("tcp", gw.addr, f.clientTLCP(f.client))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := exchange(c, "good"); err != nil {
					t.Fatal(err)
				}
				c.Close()
				if first := <-got; first != "good" {
					t.Fatalf("backend's first connection sent %q", first)
				}
			}
			gw.stop(t)
			// One refused record (the refusal may be recorded after the
			// good connection's record: the client hears of it first).
			var refused []audit.Entry
			for _, e := range gw.audit.all() {
				if e.Code != "" {
					refused = append(refused, e)
				}
			}
			if len(refused) != 1 {
				t.Fatalf("refused audit records %+v", refused)
			}
			if e := refused[0]; e.Code != tc.code || !strings.Contains(e.Accessor, tc.accessor) || (tc.accessor == "" && e.Accessor != "") {
				t.Fatalf("audit record %+v, want code %s accessor %q", e, tc.code, tc.accessor)
			}
			if v := counter(t, gw.reg, "mima_gateway_connections_total", tc.code); v != 1 {
				t.Fatalf("connections{outcome=%s} = %v", tc.code, v)
			}
		})
	}
}

func TestHTTPMode(t *testing.T) {
	f := newFixture(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Seen-Subject", r.Header.Get(HeaderPeerSubject))
		w.Header().Set("Seen-Certificate", r.Header.Get(HeaderPeerCertificate))
		w.Header().Set("Seen-Proto", r.Header.Get("X-Forwarded-Proto"))
		_, _ = io.WriteString(w, r.URL.Path)
	}))
	defer backend.Close()
	gw := start(t, Config{Mode: HTTP, Forward: backend.URL, TLCP: f.serverTLCP(tlcp.RequestClientCert)})
	get := func(id *tlcp.Certificate) *http.Response {
		t.Helper()
		client := &http.Client{Transport: &http.Transport{DialTLSContext: (&tlcp.Dialer{Config: f.clientTLCP(id)}).DialContext}}
		req, _ := http.NewRequest("GET", "https://"+gw.addr+"/records/7", nil)
		req.Header.Set(HeaderPeerSubject, "CN=forged")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if b, _ := io.ReadAll(resp.Body); string(b) != "/records/7" || resp.StatusCode != 200 {
			t.Fatalf("answer %d %q", resp.StatusCode, b)
		}
		client.CloseIdleConnections()
		return resp
	}
	resp := get(f.client)
	if s := resp.Header.Get("Seen-Subject"); !strings.Contains(s, "CN=client.test") || resp.Header.Get("Seen-Proto") != "https" {
		t.Fatalf("backend saw subject %q proto %q", s, resp.Header.Get("Seen-Proto"))
	}
	certPEM, err := url.QueryUnescape(resp.Header.Get("Seen-Certificate"))
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := pem.Decode([]byte(certPEM)); block == nil || string(block.Bytes) != string(f.client.SignCertificate) {
		t.Fatalf("backend saw certificate %q", certPEM)
	}
	if resp := get(nil); resp.Header.Get("Seen-Subject") != "" || resp.Header.Get("Seen-Certificate") != "" {
		t.Fatalf("a client without certificate passed %q", resp.Header.Get("Seen-Subject"))
	}
	gw.stop(t)
	if entries := gw.audit.all(); len(entries) != 2 || entries[0].Operation != "gateway.http" || entries[1].Accessor != "" {
		t.Fatalf("audit records %+v", entries)
	}
}

// TestClientModeChain lets a plain TCP client reach the echo backend
// through a client-mode gateway and a TCP-mode gateway.
func TestClientModeChain(t *testing.T) {
	f := newFixture(t)
	backend, _ := echoBackend(t)
	server := start(t, Config{Mode: TCP, Forward: backend, TLCP: f.serverTLCP(tlcp.RequireAndVerifyClientCert), AllowedSubjects: []string{"CN=client.test"}})
	cl := start(t, Config{Mode: Client, Forward: server.addr, TLCP: f.clientTLCP(f.client), AllowedSubjects: []string{"CN=gateway.test"}})
	c, err := net.Dial("tcp", cl.addr)
	if err != nil {
		t.Fatal(err)
	}
	if answer, err := exchange(c, "legacy"); err != nil || answer != "echo:legacy" {
		t.Fatalf("answer %q, %v", answer, err)
	}
	c.Close()
	cl.stop(t)
	server.stop(t)
	ce, se := cl.audit.all(), server.audit.all()
	if len(ce) != 1 || ce[0].Operation != "gateway.client" || !strings.Contains(ce[0].Accessor, "CN=gateway.test") {
		t.Fatalf("client gateway audit %+v", ce)
	}
	if len(se) != 1 || !strings.Contains(se[0].Accessor, "CN=client.test") {
		t.Fatalf("server gateway audit %+v", se)
	}
}

// TestShutdownClosesOpenConnections ends Serve while a connection is
// relaying: with no grace it is closed and Serve returns.
func TestShutdownClosesOpenConnections(t *testing.T) {
	f := newFixture(t)
	backend, _ := echoBackend(t)
	gw := start(t, Config{Mode: TCP, Forward: backend, TLCP: f.serverTLCP(tlcp.NoClientCert)})
	c, err := tlcp.Dial("tcp", gw.addr, f.clientTLCP(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "half a message"); err != nil {
		t.Fatal(err)
	}
	gw.stop(t)
	_ = c.SetDeadline(time.Now().Add(ioDeadline))
	if b, err := io.ReadAll(c); len(b) != 0 || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after shutdown read %q, %v", b, err)
	}
}

func TestNewErrors(t *testing.T) {
	f := newFixture(t)
	for name, cfg := range map[string]Config{
		"no mode":                 {Forward: "x:1", TLCP: f.serverTLCP(tlcp.NoClientCert)},
		"no forward":              {Mode: TCP, TLCP: f.serverTLCP(tlcp.NoClientCert)},
		"no tlcp":                 {Mode: TCP, Forward: "x:1"},
		"no certificate":          {Mode: TCP, Forward: "x:1", TLCP: &tlcp.Config{}},
		"subjects without certs":  {Mode: TCP, Forward: "x:1", TLCP: f.serverTLCP(tlcp.RequestClientCert), AllowedSubjects: []string{"CN=a"}},
		"bad subject":             {Mode: TCP, Forward: "x:1", TLCP: f.serverTLCP(tlcp.RequireAndVerifyClientCert), AllowedSubjects: []string{"nonsense"}},
		"bad http forward":        {Mode: HTTP, Forward: "ftp://x", TLCP: f.serverTLCP(tlcp.NoClientCert)},
		"client forward not host": {Mode: Client, Forward: "nohost", TLCP: &tlcp.Config{}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(Config{Mode: HTTP, Forward: "127.0.0.1:8080", TLCP: f.serverTLCP(tlcp.NoClientCert)}); err != nil {
		t.Errorf("http forward host:port: %v", err)
	}
}

// TestIdleConnectionsClose: a connection on which nothing moves is closed
// after IdleTimeout, in both directions, once what was sent has passed.
func TestIdleConnectionsClose(t *testing.T) {
	f := newFixture(t)
	backend, got := echoBackend(t)
	gw := start(t, Config{Mode: TCP, Forward: backend, TLCP: f.serverTLCP(tlcp.NoClientCert), IdleTimeout: 50 * time.Millisecond})
	c, err := tlcp.Dial("tcp", gw.addr, f.clientTLCP(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "then silence"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(ioDeadline))
	if _, err := io.ReadAll(c); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the idle connection was not closed")
	}
	if sent := <-got; sent != "then silence" {
		t.Fatalf("the backend got %q before the close", sent)
	}
}
