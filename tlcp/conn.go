package tlcp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// maxEmptyRecords bounds consecutive records that carry no application data
// (empty fragments, ignored warnings), so a peer cannot spin the reader.
const maxEmptyRecords = 16

// closeNotifyTimeout bounds the write of close_notify in Close.
const closeNotifyTimeout = 5 * time.Second

// Conn is a TLCP connection over a net.Conn. Read and Write may be called
// concurrently with each other; the handshake runs on first use.
type Conn struct {
	conn     net.Conn
	isClient bool
	config   *Config

	handshakeMu       sync.Mutex
	handshakeErr      error
	handshakeComplete atomic.Bool
	state             connState // written by the handshake only

	// activeCall counts Writes in progress; bit 0 is set by Close.
	activeCall atomic.Int32

	inMu       sync.Mutex
	in         halfConn
	rawInput   bytes.Buffer
	input      []byte // application data not yet returned by Read
	hand       bytes.Buffer
	inErr      error
	emptyCount int

	outMu     sync.Mutex
	out       halfConn
	outErr    error
	buffering bool
	sendBuf   []byte // buffered handshake flight
	outBuf    []byte // reused for records written at once
}

// connState is what the handshake established.
type connState struct {
	suite            *cipherSuite
	didResume        bool
	peerCertificates []*smx509.Certificate
	verifiedChains   [][]*smx509.Certificate
	serverName       string
}

// ConnectionState describes a TLCP connection.
type ConnectionState struct {
	// Version is VersionTLCP once the handshake completed.
	Version uint16
	// HandshakeComplete is true after a successful handshake.
	HandshakeComplete bool
	// DidResume is true when the session was resumed by session ID.
	DidResume bool
	// CipherSuite is the negotiated suite.
	CipherSuite uint16
	// PeerCertificates are the peer's certificates in wire order: signing
	// certificate, encryption certificate, then CA certificates. A server
	// that did not authenticate the client has none.
	PeerCertificates []*smx509.Certificate
	// VerifiedChains are the chains that verified the peer's signing
	// certificate; empty when verification was skipped.
	VerifiedChains [][]*smx509.Certificate
	// ServerName is the name the client verified the server against.
	ServerName string
}

// ConnectionState returns details of the connection.
func (c *Conn) ConnectionState() ConnectionState {
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	cs := ConnectionState{HandshakeComplete: c.handshakeComplete.Load()}
	if !cs.HandshakeComplete {
		return cs
	}
	cs.Version = VersionTLCP
	cs.DidResume = c.state.didResume
	cs.CipherSuite = c.state.suite.id
	cs.PeerCertificates = c.state.peerCertificates
	cs.VerifiedChains = c.state.verifiedChains
	cs.ServerName = c.state.serverName
	return cs
}

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// SetDeadline sets the read and write deadlines of the underlying
// connection. A Write that times out leaves the connection unusable.
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// SetReadDeadline sets the read deadline of the underlying connection.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline of the underlying connection.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.conn }

// Handshake runs the handshake if it has not run yet. Most callers need not
// call it: Read and Write do.
func (c *Conn) Handshake() error { return c.HandshakeContext(context.Background()) }

// HandshakeContext runs the handshake, closing the connection if ctx is
// done first.
func (c *Conn) HandshakeContext(ctx context.Context) (err error) {
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	if c.handshakeComplete.Load() || c.handshakeErr != nil {
		return c.handshakeErr
	}
	if ctx.Done() != nil {
		done := make(chan struct{})
		interrupted := make(chan error, 1)
		defer func() {
			close(done)
			if ctxErr := <-interrupted; ctxErr != nil && c.handshakeErr != nil {
				c.handshakeErr = fmt.Errorf("tlcp: handshake interrupted: %w", ctxErr)
				err = c.handshakeErr
			}
		}()
		go func() {
			select {
			case <-ctx.Done():
				_ = c.conn.Close()
				interrupted <- ctx.Err()
			case <-done:
				interrupted <- nil
			}
		}()
	}
	c.inMu.Lock()
	defer c.inMu.Unlock()
	if c.isClient {
		c.handshakeErr = c.clientHandshake()
	} else {
		c.handshakeErr = c.serverHandshake()
	}
	if c.handshakeErr == nil {
		c.handshakeComplete.Store(true)
	}
	return c.handshakeErr
}

// Read reads application data, running the handshake first if needed. It
// returns io.EOF after the peer's close_notify.
func (c *Conn) Read(b []byte) (int, error) {
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	if len(b) == 0 {
		return 0, nil
	}
	c.inMu.Lock()
	defer c.inMu.Unlock()
	for len(c.input) == 0 {
		if err := c.readRecord(false); err != nil {
			return 0, err
		}
		for c.hand.Len() > 0 {
			if err := c.handlePostHandshake(); err != nil {
				return 0, err
			}
		}
	}
	n := copy(b, c.input)
	c.input = c.input[n:]
	return n, nil
}

// Write writes application data in records of at most 2^14 bytes.
func (c *Conn) Write(b []byte) (int, error) {
	for {
		x := c.activeCall.Load()
		if x&1 != 0 {
			return 0, net.ErrClosed
		}
		if c.activeCall.CompareAndSwap(x, x+2) {
			break
		}
	}
	defer c.activeCall.Add(-2)
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	if len(b) == 0 {
		return 0, nil
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.outErr != nil {
		return 0, c.outErr
	}
	return c.writeRecordLocked(recordTypeApplicationData, b)
}

// Close sends close_notify (GB/T 38636-2020 6.4.3) if the handshake
// completed, then closes the underlying connection.
func (c *Conn) Close() error {
	var x int32
	for {
		x = c.activeCall.Load()
		if x&1 != 0 {
			return net.ErrClosed
		}
		if c.activeCall.CompareAndSwap(x, x|1) {
			break
		}
	}
	if x != 0 {
		// A Write is in flight: just break it.
		return c.conn.Close()
	}
	var alertErr error
	if c.handshakeComplete.Load() {
		_ = c.conn.SetWriteDeadline(time.Now().Add(closeNotifyTimeout))
		if err := c.sendAlert(alertCloseNotify); err != nil {
			alertErr = fmt.Errorf("tlcp: sending close_notify: %w", err)
		}
	}
	if err := c.conn.Close(); err != nil {
		return err
	}
	return alertErr
}

// CloseWrite sends close_notify and refuses later Writes, leaving the
// connection open for reading: the peer reads io.EOF, as after TCP's
// half-close. Like crypto/tls, it does not half-close the underlying
// connection, and needs a completed handshake.
func (c *Conn) CloseWrite() error {
	if !c.handshakeComplete.Load() {
		return errors.New("tlcp: CloseWrite before the handshake completed")
	}
	return c.sendAlert(alertCloseNotify)
}

// readFromUntil reads from the connection until rawInput holds n bytes.
func (c *Conn) readFromUntil(n int) error {
	if c.rawInput.Len() >= n {
		return nil
	}
	need := n - c.rawInput.Len()
	c.rawInput.Grow(need + bytes.MinRead)
	_, err := c.rawInput.ReadFrom(&atLeastReader{r: c.conn, n: int64(need)})
	return err
}

// atLeastReader reads from r until n bytes were read, then reports EOF.
type atLeastReader struct {
	r io.Reader
	n int64
}

func (r *atLeastReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	n, err := r.r.Read(p)
	r.n -= int64(n)
	if r.n > 0 && err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	if r.n <= 0 && err == nil {
		return n, io.EOF
	}
	return n, err
}
