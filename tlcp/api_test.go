package tlcp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
)

func TestListenAndDial(t *testing.T) {
	f := pki(t)
	ln, err := Listen("tcp", "127.0.0.1:0", f.serverConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = echoOnce(c, 4)
	}()
	tests := []struct {
		name string
		dial func() (*Conn, error)
	}{
		{"Dial", func() (*Conn, error) { return Dial("tcp", ln.Addr().String(), f.clientConfig()) }},
		{"DialWithDialer", func() (*Conn, error) {
			return DialWithDialer(&net.Dialer{Timeout: ioDeadline}, "tcp", ln.Addr().String(), f.clientConfig())
		}},
		{"Dialer.DialContext", func() (*Conn, error) {
			d := &Dialer{Config: f.clientConfig()}
			c, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
			if err != nil {
				return nil, err
			}
			return c.(*Conn), nil
		}},
	}
	for i, tt := range tests {
		if i > 0 {
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				_ = echoOnce(c, 4)
			}()
		}
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.dial()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if !c.ConnectionState().HandshakeComplete {
				t.Fatal("Dial returned before the handshake completed")
			}
			if _, err := c.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4)
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
				t.Fatalf("read %q, %v", buf, err)
			}
		})
	}
}

func TestListenNeedsCertificate(t *testing.T) {
	if _, err := Listen("tcp", "127.0.0.1:0", &Config{}); err == nil {
		t.Fatal("Listen accepted a Config without Certificate")
	}
}

func TestDialVerifiesAddressHost(t *testing.T) {
	f := pki(t)
	ln, err := Listen("tcp", "127.0.0.1:0", f.serverConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			_ = c.(*Conn).Handshake()
			c.Close()
		}
	}()
	cfg := f.clientConfig()
	cfg.ServerName = ""
	// The certificate names server.test, not 127.0.0.1.
	if _, err := Dial("tcp", ln.Addr().String(), cfg); err == nil || !isAlert(err, alertBadCertificate) {
		t.Fatalf("Dial error = %v, want a host name mismatch", err)
	}
}

func TestHandshakeContextCancel(t *testing.T) {
	f := pki(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	gotHello := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, recordHeaderLen)
		if _, err := io.ReadFull(c, buf); err == nil {
			close(gotHello) // never answer
		}
		_, _ = io.Copy(io.Discard, c)
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-gotHello
		cancel()
	}()
	err = Client(raw, f.clientConfig()).HandshakeContext(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("HandshakeContext error = %v, want context.Canceled", err)
	}
}

// TestGetCertificate: a server with GetCertificate presents, at each
// handshake, the certificate it returns then.
func TestGetCertificate(t *testing.T) {
	f := pki(t)
	next := dual(t, f.ca, "server.test", nil)
	var current atomic.Pointer[Certificate]
	current.Store(f.server)
	ln, err := Listen("tcp", "127.0.0.1:0", &Config{GetCertificate: current.Load})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go serve(ln, func(c net.Conn) { _ = echoOnce(c, 1) })
	for _, want := range []*Certificate{f.server, next} {
		current.Store(want)
		c, err := Dial("tcp", ln.Addr().String(), f.clientConfig())
		if err != nil {
			t.Fatal(err)
		}
		got := c.ConnectionState().PeerCertificates[0]
		c.Close()
		if !bytes.Equal(got.Raw, want.SignCertificate) {
			t.Fatalf("the server presented %s", got.Subject)
		}
	}
}
