package tlcp

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/mimacrypto/mima/internal/tlcptest"
)

// dual issues a pair for name under ca as a Certificate; edit may change
// the templates first.
func dual(t testing.TB, ca *tlcptest.CA, name string, edit func(sign, enc *smx509.Certificate)) *Certificate {
	t.Helper()
	d := ca.Dual(t, name, edit)
	return &Certificate{SignCertificate: d.SignCert, SignKey: d.SignKey, EncCertificate: d.EncCert, EncKey: d.EncKey}
}

// fixture is the PKI shared by the tests.
type fixture struct {
	ca     *tlcptest.CA
	server *Certificate
	client *Certificate
}

var (
	fixtureOnce sync.Once
	sharedPKI   *fixture
)

func pki(t testing.TB) *fixture {
	t.Helper()
	fixtureOnce.Do(func() {
		ca := tlcptest.NewCA(t, "Test SM2 Root")
		sharedPKI = &fixture{
			ca:     ca,
			server: dual(t, ca, "server.test", nil),
			client: dual(t, ca, "client.test", nil),
		}
	})
	return sharedPKI
}

// serverConfig and clientConfig are matching configurations over the
// shared PKI.
func (f *fixture) serverConfig() *Config {
	return &Config{Certificate: f.server, ClientCAs: f.ca.Pool}
}

func (f *fixture) clientConfig() *Config {
	return &Config{RootCAs: f.ca.Pool, ServerName: "server.test"}
}

// pair is a client and a server connection over loopback TCP.
type pair struct {
	client, server       *Conn
	clientErr, serverErr error
}

// ioDeadline stops a broken test from hanging; no test relies on it.
const ioDeadline = time.Minute

// connectPair dials a loopback listener and runs both handshakes; a side
// whose handshake fails closes its connection so the other side returns.
func connectPair(t testing.TB, scfg, ccfg *Config) *pair {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		c   *Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		_ = raw.SetDeadline(time.Now().Add(ioDeadline))
		s := Server(raw, scfg)
		err = s.Handshake()
		if err != nil {
			_ = raw.Close()
		}
		done <- result{s, err}
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = raw.SetDeadline(time.Now().Add(ioDeadline))
	p := &pair{client: Client(raw, ccfg)}
	if p.clientErr = p.client.Handshake(); p.clientErr != nil {
		_ = raw.Close()
	}
	r := <-done
	p.server, p.serverErr = r.c, r.err
	t.Cleanup(func() {
		_ = p.client.conn.Close()
		if p.server != nil {
			_ = p.server.conn.Close()
		}
	})
	return p
}

// mustConnect is connectPair for handshakes that must succeed.
func mustConnect(t testing.TB, scfg, ccfg *Config) *pair {
	t.Helper()
	p := connectPair(t, scfg, ccfg)
	if p.clientErr != nil || p.serverErr != nil {
		t.Fatalf("handshake: client error %v, server error %v", p.clientErr, p.serverErr)
	}
	return p
}

// isAlert reports whether err carries alert a, sent or received.
func isAlert(err error, a AlertError) bool { return errors.Is(err, a) }

// serve hands every connection ln accepts to handle, which it closes
// after, until ln is closed.
func serve(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}
