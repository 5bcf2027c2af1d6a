package tlcp

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// Server returns a server-side TLCP connection over conn. The handshake
// runs on the first Read, Write or Handshake. config needs a Certificate.
func Server(conn net.Conn, config *Config) *Conn {
	return &Conn{conn: conn, config: config}
}

// Client returns a client-side TLCP connection over conn. config needs
// ServerName or InsecureSkipVerify.
func Client(conn net.Conn, config *Config) *Conn {
	return &Conn{conn: conn, config: config, isClient: true}
}

// listener wraps accepted connections with Server.
type listener struct {
	net.Listener
	config *Config
}

// Accept waits for the next connection and returns it as a *Conn whose
// handshake has not run yet.
func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Server(c, l.config), nil
}

// NewListener returns a listener whose Accept wraps the connections of
// inner with Server(conn, config).
func NewListener(inner net.Listener, config *Config) net.Listener {
	return &listener{Listener: inner, config: config}
}

// Listen listens on network and address and returns a TLCP listener.
func Listen(network, laddr string, config *Config) (net.Listener, error) {
	if config == nil || (config.Certificate == nil && config.GetCertificate == nil) {
		return nil, errors.New("tlcp: Listen needs a Config with a Certificate or GetCertificate")
	}
	l, err := net.Listen(network, laddr)
	if err != nil {
		return nil, fmt.Errorf("tlcp: listen: %w", err)
	}
	return NewListener(l, config), nil
}

// Dial connects to addr and runs the client handshake. A Config without
// ServerName gets the host part of addr.
func Dial(network, addr string, config *Config) (*Conn, error) {
	return DialWithDialer(new(net.Dialer), network, addr, config)
}

// DialWithDialer is Dial with a dialer, whose Timeout and Deadline bound
// the connection and the handshake together.
func DialWithDialer(dialer *net.Dialer, network, addr string, config *Config) (*Conn, error) {
	d := &Dialer{NetDialer: dialer, Config: config}
	c, err := d.DialContext(context.Background(), network, addr)
	if err != nil {
		return nil, err
	}
	return c.(*Conn), nil
}

// Dialer dials TLCP connections, like tls.Dialer: its DialContext suits
// http.Transport.DialTLSContext.
type Dialer struct {
	// NetDialer dials the TCP connection; nil means a zero net.Dialer. Its
	// Timeout and Deadline bound the connection and the handshake together.
	NetDialer *net.Dialer
	// Config is the client configuration; nil means the zero Config. One
	// without ServerName gets the host part of the address dialled.
	Config *Config
}

// DialContext connects to addr and runs the client handshake within ctx.
// The connection is a *Conn.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	dialer := d.NetDialer
	if dialer == nil {
		dialer = new(net.Dialer)
	}
	if dialer.Timeout != 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dialer.Timeout)
		defer cancel()
	}
	if !dialer.Deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dialer.Deadline)
		defer cancel()
	}
	raw, err := dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("tlcp: dial: %w", err)
	}
	config := d.Config
	if config == nil {
		config = &Config{}
	}
	if config.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg := *config
		cfg.ServerName = host
		config = &cfg
	}
	conn := Client(raw, config)
	if err := conn.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		return nil, err
	}
	return conn, nil
}
