package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// conn is a minimal HTTP/1.1 client over one keep-alive connection, in the
// manner of wrk: the request bytes are built once and written as they are,
// and the answer is read just far enough to find its status and skip its
// body. Go's net/http client costs about as much CPU per request as the
// server under test, which on a shared machine would measure the client.
type conn struct {
	addr string
	req  []byte                 // the whole request; only the head when next is set
	next func() ([]byte, error) // a fresh body for each request, or nil
	buf  []byte                 // the request being sent, when next is set
	c    net.Conn
	r    *bufio.Reader
}

// newConn prepares r for sending to its host.
func newConn(r Request) (*conn, error) {
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("bench speaks plain http only, not %s", u.Scheme)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.Method, u.RequestURI(), u.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if r.Next != nil {
		return &conn{addr: u.Host, req: b.Bytes(), next: r.Next}, nil
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(r.Body))
	b.Write(r.Body)
	return &conn{addr: u.Host, req: b.Bytes()}, nil
}

// request returns the bytes of the next request: always the same ones,
// or the head followed by a fresh body from next.
func (c *conn) request() ([]byte, error) {
	if c.next == nil {
		return c.req, nil
	}
	body, err := c.next()
	if err != nil {
		return nil, err
	}
	c.buf = append(append(c.buf[:0], c.req...), "Content-Length: "...)
	c.buf = append(strconv.AppendInt(c.buf, int64(len(body)), 10), "\r\n\r\n"...)
	c.buf = append(c.buf, body...)
	return c.buf, nil
}

// roundTrip sends the request once and reads the answer, dialing first if
// needed. It returns an error for a status of 300 or more.
func (c *conn) roundTrip(ctx context.Context) error {
	if c.c == nil {
		var d net.Dialer
		nc, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return err
		}
		c.c, c.r = nc, bufio.NewReaderSize(nc, 16<<10)
	}
	req, err := c.request()
	if err != nil {
		return err
	}
	if _, err := c.c.Write(req); err != nil {
		c.close()
		return err
	}
	status, body, err := c.readResponse()
	if err != nil {
		c.close()
		return err
	}
	if status >= 300 {
		return fmt.Errorf("HTTP %d: %s", status, bytes.TrimSpace(body))
	}
	return nil
}

// readResponse reads one answer; the body is returned only for errors.
func (c *conn) readResponse() (int, []byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	fields := strings.Fields(string(line))
	if len(fields) < 2 {
		return 0, nil, errors.New("malformed status line")
	}
	status, err := strconv.Atoi(fields[1])
	if err != nil {
		return 0, nil, err
	}
	length, chunked := -1, false
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(h) <= 2 {
			break
		}
		name, value, _ := strings.Cut(strings.TrimSpace(string(h)), ":")
		switch strings.ToLower(name) {
		case "content-length":
			if length, err = strconv.Atoi(strings.TrimSpace(value)); err != nil {
				return 0, nil, err
			}
		case "transfer-encoding":
			chunked = strings.Contains(strings.ToLower(value), "chunked")
		}
	}
	var body []byte
	keep := status >= 300
	switch {
	case chunked:
		body, err = c.readChunked(keep)
	case length >= 0:
		body, err = c.readN(length, keep)
	default:
		return 0, nil, errors.New("answer without a length")
	}
	return status, body, err
}

func (c *conn) readN(n int, keep bool) ([]byte, error) {
	if keep {
		b := make([]byte, n)
		_, err := io.ReadFull(c.r, b)
		return b, err
	}
	_, err := c.r.Discard(n)
	return nil, err
}

func (c *conn) readChunked(keep bool) ([]byte, error) {
	var body []byte
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(string(line), ";", 2)[0]), 16, 64)
		if err != nil {
			return nil, err
		}
		chunk, err := c.readN(int(size)+2, keep) // the chunk and its CRLF
		if err != nil {
			return nil, err
		}
		body = append(body, chunk...)
		if size == 0 {
			return body, nil
		}
	}
}

func (c *conn) close() {
	if c.c != nil {
		_ = c.c.Close()
		c.c, c.r = nil, nil
	}
}
