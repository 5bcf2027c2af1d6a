package sdf

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"time"
)

// blocking turns c, a connected TCP socket, into a connection whose reads
// and writes are blocking system calls on the calling thread, each bounded
// by timeout (SO_RCVTIMEO, SO_SNDTIMEO); c is closed.
//
// Why: a C thread calling into the library runs its goroutine locked to
// that thread. Every wait on Go's network poller then hands the goroutine
// between OS threads twice (the thread sleeps, another thread finds the
// socket ready and wakes it), which cost the library more CPU a call than
// the signature itself took on the server (docs/performance.md, "SDF
// library"). A blocking read puts the calling thread to sleep in the kernel
// until the answer is there, as a C client would, and no other thread
// takes part.
func blocking(c net.Conn, timeout time.Duration) (net.Conn, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("sdf: socket: %w", err)
	}
	fd, dupErr := -1, error(nil)
	if err := rc.Control(func(s uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			dupErr = os.NewSyscallError("fcntl", e)
			return
		}
		fd = int(r)
	}); err != nil {
		dupErr = err
	}
	local, remote := c.LocalAddr(), c.RemoteAddr()
	_ = c.Close() // the duplicate keeps the socket open
	if dupErr != nil {
		return nil, fmt.Errorf("sdf: socket: %w", dupErr)
	}
	b := &blockingConn{fd: fd, timeout: timeout, local: local, remote: remote}
	// A connection dropped without Close (a client nobody closes) does
	// not keep its descriptor.
	b.cleanup = runtime.AddCleanup(b, func(fd int) { _ = syscall.Close(fd) }, fd)
	if err := syscall.SetNonblock(fd, false); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("sdf: socket: %w", os.NewSyscallError("fcntl", err))
	}
	if err := b.SetDeadline(time.Time{}); err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

// blockingConn is a TCP socket in blocking mode. It is used by one
// goroutine at a time, as the connections of syncTransport are.
type blockingConn struct {
	fd            int
	timeout       time.Duration // of each system call when no deadline is set
	local, remote net.Addr
	cleanup       runtime.Cleanup
}

// errTimeout is the error of a read or write that waited longer than the
// connection's timeout.
var errTimeout = fmt.Errorf("sdf: no progress on the connection: %w", os.ErrDeadlineExceeded)

// opError describes a failed system call of op on c.
func (c *blockingConn) opError(op string, err error) error {
	if errors.Is(err, syscall.EAGAIN) {
		err = errTimeout
	} else {
		err = os.NewSyscallError(op, err)
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.local, Addr: c.remote, Err: err}
}

// Read reads from the socket, sleeping in the kernel until data, the end
// of the stream or the timeout.
func (c *blockingConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := syscall.Read(c.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, c.opError("read", err)
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write writes all of p. MSG_NOSIGNAL: a peer that closed gives EPIPE,
// never a SIGPIPE that would end the application.
func (c *blockingConn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := syscall.SendmsgN(c.fd, p[done:], nil, nil, syscall.MSG_NOSIGNAL)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return done, c.opError("write", err)
		}
		done += n
	}
	return done, nil
}

// Close closes the socket.
func (c *blockingConn) Close() error {
	if c.fd < 0 {
		return net.ErrClosed
	}
	c.cleanup.Stop()
	err := syscall.Close(c.fd)
	c.fd = -1
	if err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}

// LocalAddr is the local address of the socket.
func (c *blockingConn) LocalAddr() net.Addr { return c.local }

// RemoteAddr is the address of the server.
func (c *blockingConn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline bounds each later read and write by the time left until t;
// the zero t goes back to the connection's timeout.
func (c *blockingConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline is SetDeadline for reads.
func (c *blockingConn) SetReadDeadline(t time.Time) error {
	return c.setTimeout(syscall.SO_RCVTIMEO, t)
}

// SetWriteDeadline is SetDeadline for writes.
func (c *blockingConn) SetWriteDeadline(t time.Time) error {
	return c.setTimeout(syscall.SO_SNDTIMEO, t)
}

func (c *blockingConn) setTimeout(opt int, t time.Time) error {
	d := c.timeout
	if !t.IsZero() {
		// A zero timeval means no timeout: a deadline already past
		// waits as little as the kernel can.
		d = max(time.Until(t), time.Microsecond)
	}
	tv := syscall.NsecToTimeval(d.Nanoseconds())
	if err := syscall.SetsockoptTimeval(c.fd, syscall.SOL_SOCKET, opt, &tv); err != nil {
		return fmt.Errorf("sdf: socket timeout: %w", os.NewSyscallError("setsockopt", err))
	}
	return nil
}
