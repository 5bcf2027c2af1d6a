// Package syslogtest is a syslog receiver for tests: it accepts RFC 5424
// messages framed by octet counting (RFC 6587) over TCP, keeps them in
// order, closes each connection once the sender has half-closed it, and can
// be killed as a crashing receiver would be.
package syslogtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Receiver is a local syslog receiver.
type Receiver struct {
	ln net.Listener

	mu      sync.Mutex
	msgs    [][]byte
	conns   map[net.Conn]bool
	changed chan struct{} // closed and replaced at every message
	bad     error
}

// Listen starts a receiver on TCP address addr ("127.0.0.1:0" for any
// port); it is killed when the test ends.
func Listen(t testing.TB, addr string) *Receiver { return ListenOn(t, "tcp", addr) }

// ListenOn starts a receiver on a stream socket of network ("tcp" or
// "unix"); it is killed when the test ends.
func ListenOn(t testing.TB, network, addr string) *Receiver {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	r := &Receiver{ln: ln, conns: map[net.Conn]bool{}, changed: make(chan struct{})}
	go r.accept()
	t.Cleanup(r.Kill)
	return r
}

// Addr is the address the receiver listens on.
func (r *Receiver) Addr() string { return r.ln.Addr().String() }

func (r *Receiver) accept() {
	for {
		conn, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.conns[conn] = true
		r.mu.Unlock()
		go r.serve(conn)
	}
}

// serve reads frames until the sender's end of stream, then closes.
func (r *Receiver) serve(conn net.Conn) {
	defer func() {
		r.mu.Lock()
		delete(r.conns, conn)
		r.mu.Unlock()
		conn.Close()
	}()
	br := bufio.NewReader(conn)
	for {
		n, err := br.ReadString(' ')
		if err != nil {
			return // end of stream, or killed
		}
		size, err := strconv.Atoi(n[:len(n)-1])
		if err != nil || size <= 0 {
			r.fail(fmt.Errorf("frame length %q", n))
			return
		}
		msg := make([]byte, size)
		if _, err := io.ReadFull(br, msg); err != nil {
			return // reset: the sender sends the batch again
		}
		r.add(msg)
	}
}

func (r *Receiver) add(msg []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, msg)
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *Receiver) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bad == nil {
		r.bad = err
	}
}

// Kill stops listening and resets every open connection, as the kernel
// does for a receiver killed with unread data.
func (r *Receiver) Kill() {
	r.ln.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

// Messages returns every message received, in order, and the first
// framing error, if any.
func (r *Receiver) Messages() ([][]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.msgs...), r.bad
}

// Wait waits until done holds for the messages received, failing the test
// after timeout.
func (r *Receiver) Wait(t testing.TB, timeout time.Duration, done func(msgs [][]byte) bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok, changed, n := done(r.msgs), r.changed, len(r.msgs)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("syslog receiver: condition not met after %v (%d messages)", timeout, n)
		}
	}
}

// Record returns the MSG part of an RFC 5424 message (the text after
// PRI VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA,
// when STRUCTURED-DATA is "-"), or nil when msg has fewer parts.
func Record(msg []byte) []byte {
	parts := bytes.SplitN(msg, []byte(" "), 8)
	if len(parts) < 8 {
		return nil
	}
	return parts[7]
}
