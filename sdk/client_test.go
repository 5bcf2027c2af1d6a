package sdk

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mimacrypto/mima/tlcp"
)

// scripted is a server answering the i-th request with answers[i] (the
// last one repeats), counting requests and checking each body is body.
type scripted struct {
	t       *testing.T
	answers []func(w http.ResponseWriter)
	body    string
	n       atomic.Int32
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if string(b) != s.body {
		s.t.Errorf("attempt %d sent body %q, want %q", s.n.Load()+1, b, s.body)
	}
	i := min(int(s.n.Add(1))-1, len(s.answers)-1)
	s.answers[i](w)
}

func fail(status int, code, retryAfter string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("X-Request-Id", "req-"+code)
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"error":{"code":"`+code+`","message":"m"}}`)
	}
}

func ok(w http.ResponseWriter) { _, _ = io.WriteString(w, `{"ok":true}`) }

// testClient is a client of s whose waits are recorded, not slept.
func testClient(t *testing.T, s *scripted, opts ...Option) (*Client, *[]time.Duration) {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	c.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	return c, &waits
}

func TestAPIErrorMatchesItsSentinel(t *testing.T) {
	s := &scripted{t: t, answers: []func(http.ResponseWriter){fail(404, "key_not_found", "")}}
	c, _ := testClient(t, s)
	err := c.do(context.Background(), http.MethodGet, "/v1/keys/k", nil, nil)
	if !errors.Is(err, ErrKeyNotFound) || errors.Is(err, ErrCANotFound) {
		t.Fatalf("errors.Is(%v, ErrKeyNotFound) should hold and ErrCANotFound not", err)
	}
	e, isAPI := errors.AsType[*APIError](err)
	if !isAPI || e.Status != 404 || e.RequestID != "req-key_not_found" || e.Code != "key_not_found" {
		t.Fatalf("errors.As: %#v", e)
	}
	if s.n.Load() != 1 {
		t.Errorf("a 404 was tried %d times, want once", s.n.Load())
	}
}

func TestRetries(t *testing.T) {
	sealed := fail(503, "sealed", "")
	for _, tc := range []struct {
		name     string
		method   string
		policy   *RetryPolicy
		answers  []func(http.ResponseWriter)
		attempts int32
		waits    []time.Duration // exact waits, when the server set them
		wantErr  error
	}{
		{name: "GET retried while sealed", method: "GET", answers: []func(http.ResponseWriter){sealed, sealed, ok}, attempts: 3},
		{name: "GET gives up after MaxAttempts", method: "GET", answers: []func(http.ResponseWriter){sealed}, attempts: 3, wantErr: ErrSealed},
		{name: "GET retried on storage outage", method: "GET", answers: []func(http.ResponseWriter){fail(503, "storage_unavailable", ""), ok}, attempts: 2},
		{name: "POST retried while sealed", method: "POST", answers: []func(http.ResponseWriter){sealed, ok}, attempts: 2},
		{name: "POST not retried on storage outage", method: "POST", answers: []func(http.ResponseWriter){fail(503, "storage_unavailable", ""), ok}, attempts: 1, wantErr: ErrStorageUnavailable},
		{name: "Retry-After honoured", method: "POST", answers: []func(http.ResponseWriter){fail(429, "rate_limited", "7"), ok}, attempts: 2, waits: []time.Duration{7 * time.Second}},
		{name: "client errors not retried", method: "GET", answers: []func(http.ResponseWriter){fail(400, "invalid_argument", ""), ok}, attempts: 1, wantErr: ErrInvalidArgument},
		{name: "retries off", method: "GET", policy: &RetryPolicy{}, answers: []func(http.ResponseWriter){sealed, ok}, attempts: 1, wantErr: ErrSealed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &scripted{t: t, answers: tc.answers}
			var opts []Option
			if tc.policy != nil {
				opts = append(opts, WithRetry(*tc.policy))
			}
			var in any
			if tc.method == "POST" {
				in, s.body = map[string]int{"a": 1}, "{\"a\":1}"
			}
			c, waits := testClient(t, s, opts...)
			err := c.do(context.Background(), tc.method, "/v1/x", in, nil)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if s.n.Load() != tc.attempts {
				t.Errorf("%d attempts, want %d", s.n.Load(), tc.attempts)
			}
			if len(*waits) != int(tc.attempts)-1 {
				t.Errorf("waited %d times, want %d", len(*waits), tc.attempts-1)
			}
			for i, w := range tc.waits {
				if (*waits)[i] != w {
					t.Errorf("wait %d is %v, want %v", i, (*waits)[i], w)
				}
			}
		})
	}
}

func TestStreamBodiesAreNotRetried(t *testing.T) {
	s := &scripted{t: t, answers: []func(http.ResponseWriter){fail(503, "sealed", ""), ok}, body: "stream"}
	c, _ := testClient(t, s)
	req, err := c.newRequest(context.Background(), http.MethodPost, "/v1/hash", io.MultiReader(strings.NewReader("stream")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.doRequest(req); !errors.Is(err, ErrSealed) || s.n.Load() != 1 {
		t.Fatalf("a stream body was retried: %v after %d attempts", err, s.n.Load())
	}
}

func TestBackoffIsJitteredAndCapped(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 10, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	for attempt, ceiling := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		ceiling *= time.Millisecond
		for range 50 {
			if d := p.backoff(attempt + 1); d < ceiling/2 || d > ceiling {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", attempt+1, d, ceiling/2, ceiling)
			}
		}
	}
}

func TestOptionsCompose(t *testing.T) {
	cfg := &tls.Config{ServerName: "mima.example", MinVersion: tls.VersionTLS12}
	mine := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{MaxIdleConns: 7}}
	for _, opts := range [][]Option{
		{WithHTTPClient(mine), WithTLSConfig(cfg)},
		{WithTLSConfig(cfg), WithHTTPClient(mine)},
	} {
		c, err := New("https://127.0.0.1:1", opts...)
		if err != nil {
			t.Fatal(err)
		}
		tr, isTransport := c.http.Transport.(*http.Transport)
		if !isTransport || c.http.Timeout != 3*time.Second || tr.MaxIdleConns != 7 || tr.TLSClientConfig != cfg {
			t.Errorf("WithHTTPClient and WithTLSConfig did not compose: timeout %v, transport %#v", c.http.Timeout, c.http.Transport)
		}
	}
	if mine.Transport.(*http.Transport).TLSClientConfig == cfg {
		t.Error("WithTLSConfig changed the caller's own transport")
	}
	type roundTripper struct{ http.RoundTripper }
	for name, opts := range map[string][]Option{
		"TLS and TLCP":     {WithTLSConfig(cfg), WithTLCP(&tlcp.Config{})},
		"opaque transport": {WithHTTPClient(&http.Client{Transport: roundTripper{}}), WithTLSConfig(cfg)},
		"opaque with TLCP": {WithTLCP(&tlcp.Config{}), WithHTTPClient(&http.Client{Transport: roundTripper{}})},
	} {
		if _, err := New("https://127.0.0.1:1", opts...); err == nil {
			t.Errorf("%s: New accepted options that cannot hold together", name)
		}
	}
}

// TestDefaultClientKeepsConnections: a client used from 8 goroutines keeps
// their 8 connections open between requests (Go's default transport keeps
// 2, so the second round would open 6 new ones).
func TestDefaultClientKeepsConnections(t *testing.T) {
	const workers = 8
	var (
		opened  atomic.Int32
		arrived = make(chan struct{}, workers)
		proceed = make(chan struct{})
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-proceed // hold every request until all are in: one connection each
		ok(w)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		errs := make(chan error, workers)
		for range workers {
			go func() { errs <- c.do(context.Background(), http.MethodGet, "/v1/sys/health", nil, nil) }()
		}
		for range workers {
			<-arrived
		}
		for range workers {
			proceed <- struct{}{}
		}
		for range workers {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := opened.Load(); n != workers {
		t.Fatalf("two rounds of %d concurrent requests opened %d connections, want %d", workers, n, workers)
	}
}
