package cms

import (
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/pki"
	"github.com/mimacrypto/mima/internal/sealstate"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/inmem"
)

var ctx = context.Background()

var _ sealstate.Component = (*Service)(nil)

const tenant = "acme"

// sharedDevice saves creating a DRBG per test.
var sharedDevice = device.NewSoftware()

// env is the CMS service over a CA and a key service, all unsealed on
// one store and on one clock.
type env struct {
	s     *Service
	ca    *pki.Service
	keys  *kms.Service
	store storage.Backend
	clock *clocktest.Clock
}

// newEnv returns unsealed services whose clock starts at the present
// second, so that BouncyCastle and OpenSSL, on the real clock, accept
// what they make.
func newEnv(t testing.TB, opts ...Option) *env {
	t.Helper()
	c := clocktest.New(time.Now().UTC().Truncate(time.Second))
	keys := kms.New(sharedDevice, kms.WithClock(c.Now))
	ca := pki.New(keys, pki.WithClock(c.Now), pki.WithPBKDF2Iterations(1000))
	s := New(keys, ca, append([]Option{WithClock(c.Now)}, opts...)...)
	e := &env{s: s, ca: ca, keys: keys, store: inmem.New(), clock: c}
	e.unseal(t)
	return e
}

// unseal (re)starts the three services on the env's store.
func (e *env) unseal(t testing.TB) {
	t.Helper()
	for _, c := range []sealstate.Component{e.keys, e.ca, e.s} {
		if err := c.Unsealed(ctx, e.store); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) root(t testing.TB, name string) pki.CA {
	t.Helper()
	ca, err := e.ca.CreateRoot(ctx, tenant, pki.CreateCARequest{
		Name: name, Subject: pki.Name{CommonName: name + " Root CA", Organization: []string{"Acme"}, Country: []string{"CN"}},
		MaxPathLen: pki.UnlimitedPathLen,
	})
	if err != nil {
		t.Fatalf("create root %s: %v", name, err)
	}
	return ca
}

func (e *env) intermediate(t testing.TB, parent, name string) pki.CA {
	t.Helper()
	ca, err := e.ca.CreateIntermediate(ctx, tenant, parent, pki.CreateCARequest{
		Name: name, Subject: pki.Name{CommonName: name + " Issuing CA", Organization: []string{"Acme"}},
	})
	if err != nil {
		t.Fatalf("create intermediate %s: %v", name, err)
	}
	return ca
}

// key creates an sm2 key named name and has ca certify it under the
// default profile (or under req's, once mods change it), for an e-mail
// address name@example.com.
func (e *env) key(t testing.TB, ca, name string, mods ...func(*pki.IssueRequest)) pki.Certificate {
	t.Helper()
	if _, err := e.keys.Create(ctx, tenant, kms.CreateRequest{Name: name, Type: device.SM2}); err != nil {
		t.Fatal(err)
	}
	req := pki.IssueRequest{
		Key: name, Subject: pki.Name{CommonName: name, Organization: []string{"Acme"}},
		SANs: pki.SANs{Email: []string{name + "@example.com"}},
	}
	for _, m := range mods {
		m(&req)
	}
	c, err := e.ca.Issue(ctx, tenant, ca, req)
	if err != nil {
		t.Fatalf("issue for %s: %v", name, err)
	}
	return c
}

// forEncryption issues under the CA's built-in encryption profile.
func forEncryption(r *pki.IssueRequest) { r.Profile = pki.DefaultEncryptionProfile }

// tsa creates a TSA certified by ca.
func (e *env) tsa(t testing.TB, ca, name string, mods ...func(*TSARequest)) TSA {
	t.Helper()
	req := TSARequest{Name: name, CA: ca}
	for _, m := range mods {
		m(&req)
	}
	a, err := e.s.CreateTSA(ctx, tenant, req)
	if err != nil {
		t.Fatalf("create TSA %s: %v", name, err)
	}
	return a
}

func (e *env) sign(t testing.TB, req SignRequest) []byte {
	t.Helper()
	der, err := e.s.Sign(ctx, tenant, req)
	if err != nil {
		t.Fatalf("sign with %s: %v", req.Key, err)
	}
	return der
}

func (e *env) verify(t testing.TB, req VerifyRequest) VerifyReport {
	t.Helper()
	r, err := e.s.Verify(ctx, tenant, req)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return r
}

func (e *env) revoke(t testing.TB, serial string, reason pki.Reason) {
	t.Helper()
	if _, err := e.ca.Revoke(ctx, tenant, serial, reason); err != nil {
		t.Fatal(err)
	}
}

// wantCode fails unless err carries code.
func wantCode(t testing.TB, what string, err error, code fault.Code) {
	t.Helper()
	if !fault.Is(err, code) {
		t.Errorf("%s: got %v, want code %s", what, err, code)
	}
}

// wantReasons fails unless a report lists exactly want.
func wantReasons(t testing.TB, what string, got []Reason, want ...Reason) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: reasons %q, want %q", what, got, want)
	}
}

// selfSigned makes an SM2 key and a self-signed certificate for it
// outside mima, valid around now.
func selfSigned(t testing.TB, cn string, now time.Time, mod func(*smx509.Certificate)) (*sm2.PrivateKey, *smx509.Certificate) {
	t.Helper()
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &smx509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:              smx509.KeyUsageDigitalSignature | smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, SignatureAlgorithm: smx509.SM2WithSM3,
	}
	if mod != nil {
		mod(tmpl)
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return priv, c
}

// pemOf returns certificates as PEM.
func pemOf(certs ...*smx509.Certificate) string {
	var s string
	for _, c := range certs {
		s += pemCertificate(c.Raw)
	}
	return s
}

// mustParse parses a SignedData the test made.
func mustParse(t testing.TB, der []byte) *parsedSignedData {
	t.Helper()
	p, err := parseSignedData(der)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// remarshal encodes a parsed SignedData the test changed.
func remarshal(t testing.TB, p *parsedSignedData) []byte {
	t.Helper()
	der, err := p.marshal()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// setSigner replaces signer i of p by si.
func setSigner(t testing.TB, p *parsedSignedData, i int, si signerInfo) {
	t.Helper()
	der, err := asn1.Marshal(si)
	if err != nil {
		t.Fatal(err)
	}
	p.sd.SignerInfos[i] = asn1.RawValue{FullBytes: der}
	p.signers[i] = si
}
