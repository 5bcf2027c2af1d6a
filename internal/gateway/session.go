package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/tlcp"
)

// session is one relayed connection.
type session struct {
	id     string
	remote string
	start  time.Time
	peer   *smx509.Certificate // the authenticated peer's signing certificate

	mu     sync.Mutex
	closed bool
	front  net.Conn // the accepting side: TLCP in the TCP and HTTP modes
	back   net.Conn // the forwarding side; nil in the HTTP mode
}

// peerSubject is the peer's certificate subject, or "".
func (s *session) peerSubject() string {
	if s.peer == nil {
		return ""
	}
	return s.peer.Subject.String()
}

// set installs the front (replacing the raw connection) or back
// connection; on a closed session it closes c and reports false.
func (s *session) set(slot *net.Conn, c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = c.Close()
		return false
	}
	*slot = c
	return true
}

// close closes both sides.
func (s *session) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, c := range []net.Conn{s.front, s.back} {
		if c != nil {
			_ = c.Close()
		}
	}
}

// open runs the handshake, checks the peer, dials the forward address
// (not in the HTTP mode) and writes the audit record. It reports whether
// the connection may be relayed; a refused one is closed by the caller.
func (g *Gateway) open(s *session) bool {
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.HandshakeTimeout)
	defer cancel()
	began := time.Now()
	code := g.connect(ctx, s)
	if code != CodeHandshakeFailed {
		g.metrics.handshake.Observe(time.Since(began).Seconds())
	}
	if err := g.record(ctx, s, code); err != nil && code == "" {
		g.log.Error("gateway: refusing a connection that could not be audited", "id", s.id, "error", err)
		code = CodeAuditFailed
	}
	outcome := code
	if outcome == "" {
		outcome = "accepted"
	} else {
		g.log.Warn("gateway: connection refused", "id", s.id, "remote", s.remote, "peer", s.peerSubject(), "code", code)
	}
	g.metrics.connections.WithLabelValues(outcome).Inc()
	return code == ""
}

// connect establishes both sides and returns "" or a refusal code.
func (g *Gateway) connect(ctx context.Context, s *session) string {
	var d net.Dialer
	if g.cfg.Mode == Client {
		raw, err := d.DialContext(ctx, "tcp", g.cfg.Forward)
		if err != nil {
			return CodeForwardUnreachable
		}
		back := tlcp.Client(raw, g.cfg.TLCP)
		if !s.set(&s.back, back) {
			return CodeHandshakeFailed
		}
		if err := back.HandshakeContext(ctx); err != nil {
			return CodeHandshakeFailed
		}
		return g.checkPeer(s, firstCert(back.ConnectionState().PeerCertificates))
	}
	peer, err := g.handshake(ctx, s)
	if err != nil {
		return CodeHandshakeFailed
	}
	if code := g.checkPeer(s, peer); code != "" || g.cfg.Mode == HTTP {
		return code
	}
	back, err := d.DialContext(ctx, "tcp", g.cfg.Forward)
	if err != nil {
		return CodeForwardUnreachable
	}
	if !s.set(&s.back, back) {
		return CodeForwardUnreachable
	}
	return ""
}

// errClosed is a session closed during its handshake.
var errClosed = errors.New("gateway: the session was closed")

// handshake runs the accepting side's handshake: TLCP, or TLS when the
// gateway also accepts TLS and the client's first bytes are not a TLCP
// ClientHello. It returns the peer's signing certificate, if it sent one.
func (g *Gateway) handshake(ctx context.Context, s *session) (*smx509.Certificate, error) {
	conn, isTLCP := s.front, true
	if g.cfg.TLS != nil {
		deadline, _ := ctx.Deadline()
		_ = conn.SetReadDeadline(deadline)
		c, ok, err := tlcp.Sniff(conn)
		_ = conn.SetReadDeadline(time.Time{})
		if err != nil {
			return nil, err
		}
		conn, isTLCP = c, ok
	}
	if isTLCP {
		front := tlcp.Server(conn, g.cfg.TLCP)
		if !s.set(&s.front, front) {
			return nil, errClosed
		}
		if err := front.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		return firstCert(front.ConnectionState().PeerCertificates), nil
	}
	front := tls.Server(conn, g.cfg.TLS)
	if !s.set(&s.front, front) {
		return nil, errClosed
	}
	if err := front.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	if certs := front.ConnectionState().PeerCertificates; len(certs) > 0 {
		return smx509.ParseCertificate(certs[0].Raw)
	}
	return nil, nil
}

// firstCert is the first of certs, or nil.
func firstCert(certs []*smx509.Certificate) *smx509.Certificate {
	if len(certs) == 0 {
		return nil
	}
	return certs[0]
}

// checkPeer notes the peer's signing certificate and matches it against
// the allowed subjects.
func (g *Gateway) checkPeer(s *session, peer *smx509.Certificate) string {
	s.peer = peer
	if len(g.allowed) == 0 {
		return ""
	}
	if s.peer != nil {
		for _, p := range g.allowed {
			if p.matches(s.peer.Subject) {
				return ""
			}
		}
	}
	return CodeSubjectNotAllowed
}

// record writes the connection's audit record: the peer's subject as the
// accessor, the forward address as the object.
func (g *Gateway) record(ctx context.Context, s *session, code string) error {
	if g.auditor == nil {
		return nil
	}
	return g.auditor.Log(ctx, audit.Entry{
		Time:      s.start,
		RequestID: s.id,
		Accessor:  s.peerSubject(),
		Operation: "gateway." + string(g.cfg.Mode),
		Object:    g.cfg.Forward,
		Code:      code,
		Remote:    s.remote,
	})
}

// relay copies both ways until both directions end, passing a clean end
// of stream on as a half-close.
func (g *Gateway) relay(s *session) {
	g.metrics.active.Inc()
	defer g.metrics.active.Dec()
	front := &countingConn{Conn: s.front, in: g.metrics.bytesUp, out: g.metrics.bytesDown}
	if g.cfg.IdleTimeout > 0 {
		front.last.Store(time.Now().UnixNano())
		stop := closeWhenIdle(front, g.cfg.IdleTimeout, func() {
			g.log.Info("gateway: closing an idle connection", "id", s.id, "idle", g.cfg.IdleTimeout)
			s.close()
		})
		defer stop()
	}
	up := make(chan error, 1)
	go func() { up <- pipe(s.back, front) }()
	downErr := pipe(front, s.back)
	upErr := <-up
	g.log.Info("gateway: connection closed", "id", s.id, "remote", s.remote, "peer", s.peerSubject(),
		"bytes_up", front.read.Load(), "bytes_down", front.written.Load(), "duration", time.Since(s.start),
		"error", errors.Join(upErr, downErr))
}

// closeWhenIdle calls closeFn once no data has moved on c for idle; the
// returned func stops watching.
func closeWhenIdle(c *countingConn, idle time.Duration, closeFn func()) (stop func() bool) {
	var mu sync.Mutex // t is set before the timer's func reads it
	mu.Lock()
	defer mu.Unlock()
	var t *time.Timer
	t = time.AfterFunc(idle, func() {
		mu.Lock()
		defer mu.Unlock()
		if since := time.Since(time.Unix(0, c.last.Load())); since < idle {
			t.Reset(idle - since)
			return
		}
		closeFn()
	})
	return t.Stop
}

// pipe copies src to dst. At src's end of stream it half-closes dst;
// after an error it closes both, so the other direction ends too.
func pipe(dst, src net.Conn) error {
	_, err := io.Copy(dst, src)
	if err == nil {
		if cw, ok := dst.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			return nil
		}
	}
	_ = dst.Close()
	_ = src.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
