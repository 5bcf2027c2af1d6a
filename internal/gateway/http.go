package gateway

import (
	"context"
	"encoding/pem"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// Headers the HTTP mode sets on forwarded requests, after removing any the
// client sent: the subject of the client's signing certificate (RFC 4514
// string) and the certificate itself (PEM, URL-escaped, like nginx's
// $ssl_client_escaped_cert). Both are absent for clients without one.
const (
	HeaderPeerSubject     = "X-Mima-Peer-Subject"
	HeaderPeerCertificate = "X-Mima-Peer-Certificate"
)

// serveHTTP serves the HTTP mode: a reverse proxy over the connections
// that passed open.
func (g *Gateway) serveHTTP(ctx context.Context, ln net.Listener) error {
	conns := &chanListener{addr: ln.Addr(), conns: make(chan net.Conn), done: make(chan struct{})}
	srv := &http.Server{
		Handler:           &httputil.ReverseProxy{Rewrite: g.rewrite, ErrorLog: slog.NewLogLogger(g.log.Handler(), slog.LevelWarn)},
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if sc, ok := c.(*sessionConn); ok {
				return context.WithValue(ctx, sessionKey{}, sc.s)
			}
			return ctx
		},
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(conns) }()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	err := g.accept(ln, func(s *session) {
		g.metrics.active.Inc()
		defer g.metrics.active.Dec()
		sc := &sessionConn{countingConn: &countingConn{Conn: s.front, in: g.metrics.bytesUp, out: g.metrics.bytesDown}, s: s, closed: make(chan struct{})}
		select {
		case conns.conns <- sc:
			<-sc.closed // the server is done with it
		case <-conns.done:
		}
	})
	sctx, cancel := context.WithTimeout(context.Background(), g.cfg.ShutdownGrace)
	defer cancel()
	if srv.Shutdown(sctx) != nil {
		_ = srv.Close()
	}
	g.closeAll()
	g.wg.Wait()
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// rewrite points a request at the forward address and tells the backend
// who the client is.
func (g *Gateway) rewrite(r *httputil.ProxyRequest) {
	r.SetURL(g.target)
	r.SetXForwarded()
	r.Out.Header.Set("X-Forwarded-Proto", "https")
	r.Out.Header.Del(HeaderPeerSubject)
	r.Out.Header.Del(HeaderPeerCertificate)
	if s, ok := r.In.Context().Value(sessionKey{}).(*session); ok && s.peer != nil {
		r.Out.Header.Set(HeaderPeerSubject, s.peerSubject())
		r.Out.Header.Set(HeaderPeerCertificate, url.QueryEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.peer.Raw}))))
	}
}

// sessionKey finds a request's session in its context.
type sessionKey struct{}

// sessionConn is a connection handed to the HTTP server, with its session.
type sessionConn struct {
	*countingConn
	s      *session
	once   sync.Once
	closed chan struct{}
}

// Close closes the connection and releases the goroutine that handed it over.
func (c *sessionConn) Close() error {
	err := c.countingConn.Close()
	c.once.Do(func() { close(c.closed) })
	return err
}

// chanListener is a net.Listener fed by a channel.
type chanListener struct {
	addr  net.Addr
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }
