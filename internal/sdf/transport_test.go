package sdf

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/tlcp"
)

// echoServer answers each request with its method, path and body, and
// counts the connections it accepted; close asks for "Connection: close".
func echoServer(t *testing.T, tls bool) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Query().Has("close") {
			w.Header().Set("Connection", "close")
		}
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(b))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake of TestSyncTransportTLS
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, &conns
}

// client is a Config client of addr (with the CA file ca).
func client(t *testing.T, addr, ca string) *sdk.Client {
	t.Helper()
	c, err := Config{Address: addr, Token: "t", CACert: ca}.Client("t")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// echo posts body to path and checks the echo.
func echo(c *sdk.Client, path, body string) error {
	a, err := c.Raw(context.Background(), http.MethodPost, path, body)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	if want := `POST ` + strings.TrimSuffix(path, "?close") + ` "` + body + `"`; string(a.Body) != want {
		return fmt.Errorf("POST %s: answer %q, want %q", path, a.Body, want)
	}
	return nil
}

// call is echo in the test's goroutine.
func call(t *testing.T, c *sdk.Client, path, body string) {
	t.Helper()
	if err := echo(c, path, body); err != nil {
		t.Fatal(err)
	}
}

// TestSyncTransportKeepAlive: calls one after another share one
// connection; an answer with "Connection: close" ends it; a connection the
// server closed while idle is replaced and the request (with its body)
// sent again.
func TestSyncTransportKeepAlive(t *testing.T) {
	srv, conns := echoServer(t, false)
	c := client(t, srv.URL, "")
	for range 10 {
		call(t, c, "/v1/a", "body")
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("10 calls one after another opened %d connections, want 1", n)
	}
	call(t, c, "/v1/a?close", "last")
	call(t, c, "/v1/b", "next")
	if n := conns.Load(); n != 2 {
		t.Fatalf("after Connection: close, %d connections, want 2", n)
	}
	srv.CloseClientConnections() // the idle connection dies
	call(t, c, "/v1/c", "replayed")
	if n := conns.Load(); n != 3 {
		t.Fatalf("after the server closed the idle connection, %d connections, want 3", n)
	}
}

// TestSyncTransportThreads: calls from 8 goroutines locked to their OS
// threads, as C threads are, all get their own answers; the pool keeps no
// more connections than calls ran at once.
func TestSyncTransportThreads(t *testing.T) {
	srv, conns := echoServer(t, false)
	c := client(t, srv.URL, "")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for j := range 50 {
				if err := echo(c, "/v1/t", strings.Repeat("x", i*100+j)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := conns.Load(); n < 1 || n > 8 {
		t.Fatalf("%d connections for 8 threads", n)
	}
}

// TestSyncTransportTLS: an https address with the server's CA in ca_cert
// is reached over TLS; without it, the server's certificate is refused.
func TestSyncTransportTLS(t *testing.T) {
	srv, _ := echoServer(t, true)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	call(t, client(t, srv.URL, ca), "/v1/tls", "secret")
	if _, err := client(t, srv.URL, "").Raw(context.Background(), http.MethodGet, "/v1/tls", nil); err == nil || CodeOf(err) != CommFail {
		t.Fatalf("an unknown CA: %v (code %#x), want a refused certificate", err, CodeOf(err))
	}
}

// TestSyncTransportTimeout: a server that does not answer ends the call
// with a deadline error once the connection's timeout has passed.
func TestSyncTransportTimeout(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("blocking sockets with timeouts are used on Linux only")
	}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	tr := &syncTransport{dial: func(ctx context.Context) (net.Conn, error) {
		raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", srv.Listener.Addr().String())
		if err != nil {
			return nil, err
		}
		return blocking(raw, 50*time.Millisecond)
	}}
	_, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a server that does not answer: %v, want a deadline error", err)
	}
}

// TestClientProxy: when the environment names a proxy for the server,
// the client goes through it with net/http's transport.
func TestClientProxy(t *testing.T) {
	var proxied atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Store(r.RequestURI)
		_, _ = io.WriteString(w, "POST /v1/p \"via proxy\"")
	}))
	defer proxy.Close()
	u, _ := url.Parse(proxy.URL)
	old := proxyOf
	proxyOf = func(*http.Request) (*url.URL, error) { return u, nil }
	defer func() { proxyOf = old }()
	call(t, client(t, "http://mima.invalid:8200", ""), "/v1/p", "via proxy")
	if got, _ := proxied.Load().(string); got != "http://mima.invalid:8200/v1/p" {
		t.Fatalf("the proxy saw %q", got)
	}
}

// TestSyncTransportTLCP: an https address with tlcp is reached over TLCP
// (GB/T 38636), the handshake made on the blocking socket; a pool without
// the server's CA refuses it.
func TestSyncTransportTLCP(t *testing.T) {
	golden := func(name string) string { return filepath.Join("..", "..", "tlcp", "testdata", "golden_"+name+".pem") }
	cert, err := tlcp.LoadCertificate(golden("server_sign"), golden("server_sign"), golden("server_enc"), golden("server_enc"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tlcp.Listen("tcp", "127.0.0.1:0", &tlcp.Config{Certificate: cert})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ErrorLog: log.New(io.Discard, "", 0), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "over "+r.URL.Path)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	u := &url.URL{Scheme: "https", Host: ln.Addr().String()}
	for _, c := range []struct {
		ca   string
		want bool
	}{{golden("ca"), true}, {golden("client_sign"), false}} {
		pool, err := tlcp.LoadCertPool(c.ca)
		if err != nil {
			t.Fatal(err)
		}
		tr := newSyncTransport(u, nil, &tlcp.Config{RootCAs: pool, ServerName: "server.test"})
		resp, err := (&http.Client{Transport: tr}).Get(u.String() + "/tlcp")
		if !c.want {
			if err == nil {
				t.Fatal("a pool without the server's CA: accepted")
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != "over /tlcp" {
			t.Fatalf("answer %q", b)
		}
	}
}

// TestClosingReleasesConnections: the connections of a released access
// right close at once, and closing the device closes those of the
// session's other rights and of the device itself, without waiting for
// the garbage collector.
func TestClosingReleasesConnections(t *testing.T) {
	closed := make(chan struct{}, 8)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(b))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	cfg := Config{Address: srv.URL, Token: "t", Keys: map[string]string{"1": "k1", "2": "k2"}}
	dev := devices.Put(&Device{cfg: cfg, client: client(t, srv.URL, "")})
	sh, err := OpenSession(dev)
	if err != nil {
		t.Fatal(err)
	}
	s, err := SessionOf(sh)
	if err != nil {
		t.Fatal(err)
	}
	for i := range uint32(2) {
		c := client(t, srv.URL, "")
		call(t, c, "/v1/right", "r")
		s.rights[i+1] = c
	}
	call(t, s.dev.client, "/v1/device", "d")
	waitClosed := func(n int, what string) {
		t.Helper()
		for range n {
			select {
			case <-closed:
			case <-time.After(30 * time.Second): // a failure deadline, not a measurement
				t.Fatalf("%s: the server saw no connection close", what)
			}
		}
	}
	if err := s.ReleaseAccessRight(1); err != nil {
		t.Fatal(err)
	}
	waitClosed(1, "after releasing an access right")
	if err := CloseDevice(dev); err != nil {
		t.Fatal(err)
	}
	waitClosed(2, "after closing the device")
}
