package tlcp

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

func TestIsTLCPClientHello(t *testing.T) {
	tlcpHello := append([]byte{22, 1, 1, 0, 45}, (&clientHelloMsg{vers: VersionTLCP, random: make([]byte, 32), cipherSuites: []uint16{ECC_SM4_GCM_SM3}, compressionMethods: []uint8{0}}).marshal()...)
	tests := []struct {
		name  string
		first []byte
		want  bool
	}{
		{"TLCP ClientHello", tlcpHello, true},
		{"TLCP record header only", tlcpHello[:SniffLen], true},
		{"TLS 1.2 ClientHello record", []byte{22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3}, false},
		{"TLS 1.3 record version 0x0303", []byte{22, 3, 3, 0, 200}, false},
		{"TLCP record, other message", []byte{22, 1, 1, 0, 4, 2, 0, 0, 0, 1, 1}, false},
		{"TLCP record, ClientHello offering TLS 1.2", []byte{22, 1, 1, 0, 50, 1, 0, 0, 46, 3, 3}, false},
		{"HTTP", []byte("GET / HTTP/1.1"), false},
		{"too short", []byte{22, 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsTLCPClientHello(tt.first); got != tt.want {
				t.Fatalf("IsTLCPClientHello(%x) = %v, want %v", tt.first, got, tt.want)
			}
		})
	}
}

func TestSniffingListenerServesBoth(t *testing.T) {
	f := pki(t)
	tlsServer, tlsClient := tlsPair(t)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := NewSniffingListener(inner, f.serverConfig(), tlsServer)
	defer ln.Close()
	go serve(ln, func(c net.Conn) {
		kind := "tls"
		if _, ok := c.(*Conn); ok {
			kind = "tlcp"
		}
		buf := make([]byte, 5)
		if _, err := io.ReadFull(c, buf); err == nil {
			_, _ = c.Write([]byte(kind + ":" + string(buf)))
		}
	})
	tests := []struct {
		name string
		dial func(net.Conn) net.Conn
		want string
	}{
		{"TLCP client", func(c net.Conn) net.Conn { return Client(c, f.clientConfig()) }, "tlcp:hello"},
		{"TLS client", func(c net.Conn) net.Conn { return tls.Client(c, tlsClient) }, "tls:hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			_ = raw.SetDeadline(time.Now().Add(ioDeadline))
			c := tt.dial(raw)
			defer c.Close()
			if _, err := c.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(tt.want))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
