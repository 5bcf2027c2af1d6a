// Package gateway is mima's TLCP gateway. In front of a TCP or HTTP
// service that knows nothing of TLCP it terminates TLCP (GB/T 38636) and
// forwards the plaintext; for legacy clients it does the reverse,
// accepting plain TCP and forwarding over TLCP. It checks the peer's
// certificate subject, writes an audit record for every connection before
// any data passes, and counts connections and bytes for Prometheus.
package gateway

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/tlcp"
)

// Mode is what a gateway accepts and what it forwards.
type Mode string

// The modes of a gateway.
const (
	TCP    Mode = "tcp"    // accept TLCP, forward plain TCP
	HTTP   Mode = "http"   // accept TLCP, forward HTTP requests as a reverse proxy
	Client Mode = "client" // accept plain TCP, forward over TLCP
)

// Codes of refused connections, in audit records (code) and in the outcome
// label of mima_gateway_connections_total, which counts the rest as
// "accepted".
const (
	CodeHandshakeFailed    = "handshake_failed"    // the TLCP handshake failed, or timed out
	CodeSubjectNotAllowed  = "subject_not_allowed" // the peer's subject matches no allowed subject
	CodeForwardUnreachable = "forward_unreachable" // the forward address did not answer
	CodeAuditFailed        = "audit_failed"        // the audit record could not be written
)

// Config is a gateway's configuration.
type Config struct {
	Mode Mode
	// Forward is where connections go: host:port, or for HTTP an http or
	// https URL (host:port means http).
	Forward string
	// TLCP is the server configuration (TCP, HTTP: Certificate, ClientCAs,
	// ClientAuth) or the client one (Client: RootCAs, ServerName, and a
	// Certificate for servers that ask). A client ServerName defaults to
	// the host of Forward.
	TLCP *tlcp.Config
	// TLS, when set in the TCP mode, also accepts TLS clients on the same
	// port (dual-algorithm acceptance, 双算法并存): a connection whose
	// first bytes are not a TLCP ClientHello is served as TLS. Its
	// ClientAuth and ClientCAs play TLCP's part; AllowedSubjects apply to
	// both.
	TLS *tls.Config
	// AllowedSubjects, when not empty, admit only peers whose signing
	// certificate subject holds all attributes of one of them, written as
	// "CN=app,O=Hospital" or "/O=Hospital/CN=app". In the TCP and HTTP
	// modes they need TLCP.ClientAuth RequireAndVerifyClientCert.
	AllowedSubjects []string
	// HandshakeTimeout bounds the TLCP handshake and the dial of Forward
	// together; zero means 10 seconds.
	HandshakeTimeout time.Duration
	// ShutdownGrace is how long open connections may run on after Serve's
	// context ends before they are closed; zero closes them at once.
	ShutdownGrace time.Duration
	// IdleTimeout closes a relayed connection (TCP and client modes) on
	// which no data has moved either way for that long; zero never does.
	// The HTTP mode closes idle keep-alive connections after two minutes.
	IdleTimeout time.Duration
}

// Auditor records one connection; *audit.Logger is one.
type Auditor interface {
	Log(ctx context.Context, e audit.Entry) error
}

// Gateway relays connections as its Config says.
type Gateway struct {
	cfg     Config
	allowed []subjectPattern
	target  *url.URL // HTTP mode
	auditor Auditor
	log     *slog.Logger
	metrics *metrics
	idBase  string
	ids     atomic.Uint64

	mu       sync.Mutex
	sessions map[*session]struct{}
	wg       sync.WaitGroup
}

// Option configures a Gateway.
type Option func(*Gateway)

// WithAuditor sends each connection's audit record to a; without one no
// records are written.
func WithAuditor(a Auditor) Option { return func(g *Gateway) { g.auditor = a } }

// WithLogger logs connections to l.
func WithLogger(l *slog.Logger) Option { return func(g *Gateway) { g.log = l } }

// WithRegisterer registers the gateway's metrics with r.
func WithRegisterer(r prometheus.Registerer) Option {
	return func(g *Gateway) { g.metrics.register(r) }
}

// New checks cfg and returns a gateway.
func New(cfg Config, opts ...Option) (*Gateway, error) {
	g := &Gateway{cfg: cfg, log: slog.New(slog.DiscardHandler), metrics: newMetrics(), sessions: map[*session]struct{}{}}
	if err := g.check(); err != nil {
		return nil, err
	}
	for _, s := range cfg.AllowedSubjects {
		p, err := parseSubject(s)
		if err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
		g.allowed = append(g.allowed, p)
	}
	if g.cfg.HandshakeTimeout <= 0 {
		g.cfg.HandshakeTimeout = 10 * time.Second
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	g.idBase = "gw-" + hex.EncodeToString(b[:]) + "-"
	for _, o := range opts {
		o(g)
	}
	return g, nil
}

// check validates the configuration and completes the client TLCP
// configuration and the HTTP target.
func (g *Gateway) check() error {
	c := &g.cfg
	if c.Forward == "" {
		return errors.New("gateway: a forward address is needed")
	}
	if c.TLCP == nil {
		return errors.New("gateway: a TLCP configuration is needed")
	}
	switch c.Mode {
	case TCP, HTTP:
		if c.TLCP.Certificate == nil && c.TLCP.GetCertificate == nil {
			return errors.New("gateway: accepting TLCP needs the signing and encryption certificates and keys")
		}
		if len(c.AllowedSubjects) > 0 && (c.TLCP.ClientAuth != tlcp.RequireAndVerifyClientCert ||
			c.TLS != nil && c.TLS.ClientAuth != tls.RequireAndVerifyClientCert) {
			return errors.New("gateway: allowed subjects need client certificates to be required")
		}
		if c.TLS != nil && c.Mode != TCP {
			return errors.New("gateway: TLS clients are accepted in the tcp mode only")
		}
	case Client:
		if c.TLS != nil {
			return errors.New("gateway: TLS clients are accepted in the tcp mode only")
		}
		if c.TLCP.ServerName == "" && !c.TLCP.InsecureSkipVerify {
			host, _, err := net.SplitHostPort(c.Forward)
			if err != nil {
				return fmt.Errorf("gateway: forward address: %w", err)
			}
			cl := *c.TLCP
			cl.ServerName = host
			c.TLCP = &cl
		}
	default:
		return fmt.Errorf("gateway: mode must be tcp, http or client, not %q", c.Mode)
	}
	if c.Mode != HTTP {
		return nil
	}
	raw := c.Forward
	if u, err := url.Parse(raw); err != nil || u.Host == "" {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("gateway: forward %q must be an http(s) URL or host:port", c.Forward)
	}
	g.target = u
	return nil
}

// Serve accepts connections on ln until ctx ends or ln fails, then stops
// accepting, lets open connections run for ShutdownGrace and closes the
// rest. It returns nil after a shutdown.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	if g.cfg.Mode == HTTP {
		return g.serveHTTP(ctx, ln)
	}
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	err := g.accept(ln, g.relay)
	g.drain()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// accept hands each connection of ln, once opened, to use in a goroutine
// of its own. It returns when ln is closed (nil) or fails.
func (g *Gateway) accept(ln net.Listener, use func(*session)) error {
	var backoff time.Duration
	for {
		raw, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
			// Out of file descriptors and the like: wait and retry, as
			// net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			g.log.Warn("gateway: accept", "error", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		if err != nil {
			return err
		}
		backoff = 0
		s := g.track(raw)
		go func() {
			defer g.untrack(s)
			if g.open(s) {
				use(s)
			}
		}()
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// drain waits ShutdownGrace for the open connections, then closes them
// and waits for their goroutines.
func (g *Gateway) drain() {
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	timer := time.NewTimer(g.cfg.ShutdownGrace)
	defer timer.Stop()
	select {
	case <-done:
		return
	case <-timer.C:
	}
	g.closeAll()
	<-done
}

// closeAll closes every open connection.
func (g *Gateway) closeAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for s := range g.sessions {
		s.close()
	}
}

// track registers a new connection, so that drain can close it.
func (g *Gateway) track(raw net.Conn) *session {
	s := &session{id: g.nextID(), front: raw, remote: raw.RemoteAddr().String(), start: time.Now()}
	g.mu.Lock()
	g.sessions[s] = struct{}{}
	g.mu.Unlock()
	g.wg.Add(1)
	return s
}

// untrack closes a finished connection and forgets it.
func (g *Gateway) untrack(s *session) {
	s.close()
	g.mu.Lock()
	delete(g.sessions, s)
	g.mu.Unlock()
	g.wg.Done()
}

// nextID names a connection in audit records and logs.
func (g *Gateway) nextID() string {
	return g.idBase + strconv.FormatUint(g.ids.Add(1), 10)
}
