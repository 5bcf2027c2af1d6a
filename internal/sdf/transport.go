package sdf

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
)

// syncTransport is the library's http.RoundTripper: HTTP/1.1 over a pool
// of keep-alive connections, each request written and its answer read on
// the calling goroutine, over blocking sockets (see blocking). net/http's
// Transport reads and writes each connection from goroutines of its own,
// so every call would wait on them: from a C thread, each such wait moves
// the work between OS threads.
type syncTransport struct {
	// dial opens a connection to the server, TLS or TLCP included.
	dial func(ctx context.Context) (net.Conn, error)

	mu   sync.Mutex
	idle []*persistConn // most recently used last
}

// maxIdle is the most connections the pool keeps open between calls:
// one for each thread of a busy application.
const maxIdle = 64

// persistConn is one keep-alive connection of a syncTransport.
type persistConn struct {
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
}

func (pc *persistConn) close() { _ = pc.conn.Close() }

// get returns an idle connection, or nil when there is none.
func (t *syncTransport) get() *persistConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.idle)
	if n == 0 {
		return nil
	}
	pc := t.idle[n-1]
	t.idle[n-1] = nil
	t.idle = t.idle[:n-1]
	return pc
}

// put returns pc to the pool, or closes it when the pool is full.
func (t *syncTransport) put(pc *persistConn) {
	t.mu.Lock()
	if len(t.idle) < maxIdle {
		t.idle = append(t.idle, pc)
		pc = nil
	}
	t.mu.Unlock()
	if pc != nil {
		pc.close()
	}
}

// CloseIdleConnections closes the connections no call is using.
func (t *syncTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, pc := range idle {
		pc.close()
	}
}

// errStale is the failure of a kept-alive connection the server closed
// while it was idle: no answer came, the request can go on a new one.
var errStale = errors.New("sdf: the server closed an idle connection")

// RoundTrip sends req and returns its answer with the whole body read.
// A request that fails on a kept-alive connection before any byte of an
// answer came (the server closed it while idle) is sent once more on a new
// connection, when its body can be replayed.
func (t *syncTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		closeBody(req)
		return nil, err
	}
	pc := t.get()
	resp, err := t.roundTrip(req, pc)
	if !errors.Is(err, errStale) {
		return resp, err
	}
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return nil, err
		}
		r2 := req.Clone(req.Context())
		if r2.Body, err = req.GetBody(); err != nil {
			return nil, fmt.Errorf("sdf: replaying the request body: %w", err)
		}
		req = r2
	}
	return t.roundTrip(req, nil)
}

// roundTrip sends req over pc, or over a new connection when pc is nil.
func (t *syncTransport) roundTrip(req *http.Request, pc *persistConn) (*http.Response, error) {
	reused := pc != nil
	if !reused {
		c, err := t.dial(req.Context())
		if err != nil {
			closeBody(req)
			return nil, err
		}
		pc = &persistConn{conn: c, br: bufio.NewReader(c), bw: bufio.NewWriter(c)}
	}
	stale := func(err error) error {
		pc.close()
		if reused && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
			return fmt.Errorf("%w: %w", errStale, err)
		}
		return err
	}
	if err := req.Write(pc.bw); err != nil {
		return nil, stale(err)
	}
	if err := pc.bw.Flush(); err != nil {
		return nil, stale(err)
	}
	if _, err := pc.br.Peek(1); err != nil {
		return nil, stale(err)
	}
	resp, err := http.ReadResponse(pc.br, req)
	if err != nil {
		pc.close()
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		pc.close()
		return nil, err
	}
	if resp.Close || req.Close {
		pc.close()
	} else {
		t.put(pc)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// closeBody closes the body of a request that is not sent, as a
// RoundTripper must.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
