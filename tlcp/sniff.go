package tlcp

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// SniffLen is the number of bytes IsTLCPClientHello needs: the record type
// and the record version.
const SniffLen = 3

// sniffTimeout bounds the wait for a new connection's first bytes.
const sniffTimeout = 10 * time.Second

// IsTLCPClientHello reports whether first, the first bytes a client sent,
// start a TLCP connection: a handshake record with version 0x0101
// (GB/T 38636-2020 6.3). TLS clients send record version 0x0301 to 0x0303
// there, so SniffLen bytes tell the two apart. When at least 11 bytes are
// given, the message must also be a ClientHello offering 0x0101.
//
// A server that serves TLCP and TLS on one port reads SniffLen bytes,
// hands the connection to Server or tls.Server with those bytes put back
// in front of the stream, as NewSniffingListener does.
func IsTLCPClientHello(first []byte) bool {
	if len(first) < SniffLen || recordType(first[0]) != recordTypeHandshake || first[1] != versionHi || first[2] != versionLo {
		return false
	}
	const helloVersionEnd = recordHeaderLen + 4 + 2
	if len(first) < helloVersionEnd {
		return true
	}
	return first[recordHeaderLen] == typeClientHello &&
		first[recordHeaderLen+4] == versionHi && first[recordHeaderLen+5] == versionLo
}

// sniffingListener classifies accepted connections as TLCP or TLS.
type sniffingListener struct {
	inner     net.Listener
	tlcp      *Config
	tls       *tls.Config
	conns     chan net.Conn
	errs      chan error
	done      chan struct{}
	closeOnce sync.Once
}

// NewSniffingListener returns a listener serving TLCP and TLS on the
// connections of inner. Each connection's first SniffLen bytes are read in
// its own goroutine (so a slow client does not hold up Accept), within ten
// seconds, and Accept then yields a *Conn for a TLCP ClientHello or a
// *tls.Conn otherwise, with no byte lost. Connections that send nothing in
// time are closed.
func NewSniffingListener(inner net.Listener, tlcpConfig *Config, tlsConfig *tls.Config) net.Listener {
	l := &sniffingListener{
		inner: inner, tlcp: tlcpConfig, tls: tlsConfig,
		conns: make(chan net.Conn), errs: make(chan error), done: make(chan struct{}),
	}
	go l.acceptLoop()
	return l
}

func (l *sniffingListener) acceptLoop() {
	for {
		c, err := l.inner.Accept()
		if err != nil {
			select {
			case l.errs <- err:
			case <-l.done:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go l.classify(c)
	}
}

// Sniff reads the first SniffLen bytes of c and returns c with those bytes
// put back in front of the stream, and whether they start a TLCP
// ClientHello (IsTLCPClientHello). The caller bounds the read with a
// deadline on c.
func Sniff(c net.Conn) (net.Conn, bool, error) {
	head := make([]byte, SniffLen)
	if _, err := io.ReadFull(c, head); err != nil {
		return nil, false, err
	}
	return &prefixConn{Conn: c, prefix: head}, IsTLCPClientHello(head), nil
}

func (l *sniffingListener) classify(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(sniffTimeout))
	pc, isTLCP, err := Sniff(c)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		_ = c.Close()
		return
	}
	var out net.Conn
	if isTLCP {
		out = Server(pc, l.tlcp)
	} else {
		out = tls.Server(pc, l.tls)
	}
	select {
	case l.conns <- out:
	case <-l.done:
		_ = c.Close()
	}
}

// Accept returns the next classified connection.
func (l *sniffingListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close closes the inner listener; connections still being classified are
// closed.
func (l *sniffingListener) Close() error {
	err := net.ErrClosed
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.inner.Close()
	})
	return err
}

// Addr returns the inner listener's address.
func (l *sniffingListener) Addr() net.Addr { return l.inner.Addr() }

// prefixConn replays bytes already read before reading from the Conn.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}
