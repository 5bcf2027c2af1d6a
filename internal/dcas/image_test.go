package dcas_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/dcas"
	"github.com/mimacrypto/mima/internal/dcas/dcasterm"
	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/kms"
)

// testCA is a code-signing CA and a signer it certified.
type testCA struct {
	pool       *smx509.CertPool
	signer     *sm2.PrivateKey
	signerCert []byte
}

// newTestCA makes a CA and one signer certificate with the given
// extended key usages.
func newTestCA(t *testing.T, usages ...smx509.ExtKeyUsage) testCA {
	t.Helper()
	caKey, _ := sm2.GenerateKey(rand.Reader)
	signer, _ := sm2.GenerateKey(rand.Reader)
	now := time.Now()
	tmpl := &smx509.Certificate{SerialNumber: big.NewInt(1), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: smx509.KeyUsageCertSign}
	caDER, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := smx509.ParseCertificate(caDER)
	leaf := &smx509.Certificate{SerialNumber: big.NewInt(2), NotBefore: tmpl.NotBefore, NotAfter: tmpl.NotAfter, KeyUsage: smx509.KeyUsageDigitalSignature, ExtKeyUsage: usages}
	der, err := smx509.CreateCertificate(rand.Reader, leaf, ca, &signer.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := smx509.NewCertPool()
	pool.AddCert(ca)
	return testCA{pool: pool, signer: signer, signerCert: der}
}

// sign is the signer's SM2 signature (default user id) of a message.
func (c testCA) sign(msg []byte) ([]byte, error) {
	return c.signer.SignMessage(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
}

// loaderOf returns the loader of a chip injected under the vendor key.
func (e env) loaderOf(t *testing.T, vendor string, roots *smx509.CertPool) *dcasterm.Loader {
	t.Helper()
	priv, pub := station(t)
	res, err := e.s.Inject(context.Background(), "tv", vendor, dcas.InjectRequest{Chips: []string{"0000abcd"}, StationKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	o, err := dcas.OpenBlock(priv, res.Block)
	if err != nil {
		t.Fatal(err)
	}
	l, err := dcasterm.NewLoader(o.BLKey0, roots)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestSoftwareImage: a terminal's loader takes a software image signed
// by a certificate of its CA and encrypted under a key wrapped with the
// BL_KEY0 injected into it, and refuses the image changed in any byte,
// unsigned, signed by another CA's or a non-code-signing certificate, or
// meant for chips of another vendor key.
func TestSoftwareImage(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ca := newTestCA(t, smx509.ExtKeyUsageCodeSigning)
	software := bytes.Repeat([]byte("terminal client software v2.1 "), 1000)
	seal := func(c testCA) []byte {
		t.Helper()
		k, err := e.s.ImageKey(ctx, "tv", "vendor", 0)
		if err != nil {
			t.Fatal(err)
		}
		img, err := dcas.SealImage(rand.Reader, k, software, c.signerCert, c.sign)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	img := seal(ca)
	if bytes.Contains(img, software[:64]) {
		t.Fatal("the image carries the software in clear")
	}
	loader := e.loaderOf(t, "vendor", ca.pool)
	got, err := loader.Open(img)
	if err != nil || !bytes.Equal(got, software) {
		t.Fatalf("Open: %d bytes, %v", len(got), err)
	}

	refused := func(name string, img []byte, l *dcasterm.Loader) {
		t.Helper()
		if _, err := l.Open(img); !errors.Is(err, dcas.ErrImage) {
			t.Errorf("%s: %v, want ErrImage", name, err)
		}
	}
	for i := 0; i < len(img); i += 97 {
		bad := bytes.Clone(img)
		bad[i] ^= 0x10
		refused("byte changed", bad, loader)
	}
	parsed, err := dcas.ParseImage(img)
	if err != nil {
		t.Fatal(err)
	}
	unsigned := append(bytes.Clone(parsed.Signed), 0, 0)
	refused("unsigned", unsigned, loader)
	refused("truncated", img[:len(img)-1], loader)
	refused("other CA", seal(newTestCA(t, smx509.ExtKeyUsageCodeSigning)), loader)
	refused("not for code signing", seal(newTestCA(t, smx509.ExtKeyUsageServerAuth)), e.loaderOf(t, "vendor", ca.pool))
	if _, err := e.keys.Create(ctx, "tv", kms.CreateRequest{Name: "vendor2", Type: device.SM4, Derived: true}); err != nil {
		t.Fatal(err)
	}
	refused("other vendor's chip", img, e.loaderOf(t, "vendor2", ca.pool))
}
