package tlcp

import (
	"crypto/rand"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// testCA is an SM2 certification authority for tests.
type testCA struct {
	cert *smx509.Certificate
	key  *sm2.PrivateKey
	pool *smx509.CertPool
}

var serial = big.NewInt(1000)
var serialMu sync.Mutex

func nextSerial() *big.Int {
	serialMu.Lock()
	defer serialMu.Unlock()
	serial = new(big.Int).Add(serial, big.NewInt(1))
	return new(big.Int).Set(serial)
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &smx509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkixName(name),
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 24 * time.Hour),
		KeyUsage:              smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := smx509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// leafTemplate is a leaf certificate template valid for a day.
func leafTemplate(name string, usage smx509.KeyUsage) *smx509.Certificate {
	return &smx509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      pkixName(name),
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     usage,
	}
}

// issue signs tmpl with a fresh SM2 key.
func (ca *testCA) issue(t testing.TB, tmpl *smx509.Certificate) ([]byte, *sm2.PrivateKey) {
	t.Helper()
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

const (
	signUsage = smx509.KeyUsageDigitalSignature
	encUsage  = smx509.KeyUsageKeyEncipherment | smx509.KeyUsageDataEncipherment | smx509.KeyUsageKeyAgreement
)

// dual issues a signing and an encryption certificate for name; edit may
// change the templates first.
func (ca *testCA) dual(t testing.TB, name string, edit func(sign, enc *smx509.Certificate)) *Certificate {
	t.Helper()
	sign, enc := leafTemplate(name, signUsage), leafTemplate(name, encUsage)
	sign.ExtKeyUsage = []smx509.ExtKeyUsage{smx509.ExtKeyUsageServerAuth, smx509.ExtKeyUsageClientAuth}
	if edit != nil {
		edit(sign, enc)
	}
	signDER, signKey := ca.issue(t, sign)
	encDER, encKey := ca.issue(t, enc)
	return &Certificate{SignCertificate: signDER, SignKey: signKey, EncCertificate: encDER, EncKey: encKey}
}

// fixture is the PKI shared by the tests.
type fixture struct {
	ca     *testCA
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
		ca := newTestCA(t, "Test SM2 Root")
		sharedPKI = &fixture{
			ca:     ca,
			server: ca.dual(t, "server.test", nil),
			client: ca.dual(t, "client.test", nil),
		}
	})
	return sharedPKI
}

// serverConfig and clientConfig are matching configurations over the
// shared PKI.
func (f *fixture) serverConfig() *Config {
	return &Config{Certificate: f.server, ClientCAs: f.ca.pool}
}

func (f *fixture) clientConfig() *Config {
	return &Config{RootCAs: f.ca.pool, ServerName: "server.test"}
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

func pkixName(cn string) pkix.Name {
	return pkix.Name{CommonName: cn, Organization: []string{"mima test"}}
}
