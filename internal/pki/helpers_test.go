package pki

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/sealstate"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/inmem"
)

var ctx = context.Background()

var _ sealstate.Component = (*Service)(nil)

// sharedDevice saves creating a DRBG per test.
var sharedDevice = device.NewSoftware()

// env is a CA service over a key service, both unsealed on one store.
type env struct {
	s     *Service
	keys  *kms.Service
	store storage.Backend
	clock *clocktest.Clock
}

// newEnv returns unsealed services whose clock starts at the present
// second, so that OpenSSL and BouncyCastle, on the real clock, accept
// what they issue.
func newEnv(t testing.TB, opts ...Option) *env {
	t.Helper()
	c := clocktest.New(time.Now().UTC().Truncate(time.Second))
	keys := kms.New(sharedDevice, kms.WithClock(c.Now))
	s := New(keys, append([]Option{WithClock(c.Now), WithPBKDF2Iterations(1000)}, opts...)...)
	st := inmem.New()
	if err := keys.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := s.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	return &env{s: s, keys: keys, store: st, clock: c}
}

const tenant = "acme"

var testConfig = Config{CRLURL: "http://pki.example.com/acme/crl", OCSPURL: "http://pki.example.com/acme/ocsp"}

func (e *env) root(t testing.TB, name string) CA {
	t.Helper()
	ca, err := e.s.CreateRoot(ctx, tenant, CreateCARequest{
		Name: name, Subject: Name{CommonName: name + " Root CA", Organization: []string{"Acme"}, Country: []string{"CN"}},
		MaxPathLen: UnlimitedPathLen, Config: testConfig,
	})
	if err != nil {
		t.Fatalf("create root %s: %v", name, err)
	}
	return ca
}

func (e *env) intermediate(t testing.TB, parent, name string) CA {
	t.Helper()
	ca, err := e.s.CreateIntermediate(ctx, tenant, parent, CreateCARequest{
		Name: name, Subject: Name{CommonName: name + " Issuing CA", Organization: []string{"Acme"}},
		Config: testConfig,
	})
	if err != nil {
		t.Fatalf("create intermediate %s: %v", name, err)
	}
	return ca
}

// signCSR issues a default-profile certificate for a fresh key.
func (e *env) signCSR(t testing.TB, ca, cn string, dns ...string) (Certificate, *sm2.PrivateKey) {
	t.Helper()
	der, priv := newCSR(t, cn, dns...)
	c, err := e.s.SignCSR(ctx, tenant, ca, SignCSRRequest{CSR: der})
	if err != nil {
		t.Fatalf("sign CSR for %s: %v", cn, err)
	}
	return c, priv
}

// newCSR makes a CSR for a fresh SM2 key.
func newCSR(t testing.TB, cn string, dns ...string) ([]byte, *sm2.PrivateKey) {
	t.Helper()
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return csrFor(t, priv, &smx509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}), priv
}

func csrFor(t testing.TB, priv any, tmpl *smx509.CertificateRequest) []byte {
	t.Helper()
	der, err := smx509.CreateCertificateRequest(rand.Reader, tmpl, priv)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func parseCert(t testing.TB, der []byte) *smx509.Certificate {
	t.Helper()
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pubPEM(t testing.TB, pub *ecdsa.PublicKey) string {
	t.Helper()
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// wantCode fails unless err carries code.
func wantCode(t testing.TB, what string, err error, code fault.Code) {
	t.Helper()
	if !fault.Is(err, code) {
		t.Errorf("%s: got %v, want code %s", what, err, code)
	}
}

// ips parses IP addresses.
func ips(s ...string) []net.IP {
	out := make([]net.IP, len(s))
	for i, v := range s {
		out[i] = net.ParseIP(v)
	}
	return out
}
