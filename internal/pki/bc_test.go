package pki

import (
	"crypto/sha1"
	"math/big"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/interoptest"
)

// TestBouncyCastle has BouncyCastle build a certification path from our
// root through our intermediate to a leaf, verify the intermediate's CRL
// and find the revoked serial in it, and verify OCSP answers with their
// statuses: the SM2 signatures OpenSSL 3.0 cannot check.
func TestBouncyCastle(t *testing.T) {
	bc := interoptest.BouncyCastle(t)
	e := newEnv(t)
	root := e.root(t, "root")
	inter := e.intermediate(t, "root", "issuing")
	leaf, _ := e.signCSR(t, "issuing", "bc.example.com", "bc.example.com")
	revoked, _ := e.signCSR(t, "issuing", "revoked.example.com")
	if _, err := e.s.Revoke(ctx, tenant, revoked.Serial, KeyCompromise); err != nil {
		t.Fatal(err)
	}
	crl, err := e.s.CRL(ctx, tenant, "issuing")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ic := parseCert(t, inter.Certificate)
	serialOf := func(c Certificate) *big.Int { return parseCert(t, c.DER).SerialNumber }
	for name, q := range map[string]query{
		"ocsp-good.der":     {ic, serialOf(leaf), oidSHA1, sha1.New},
		"ocsp-good-sm3.der": {ic, serialOf(leaf), oidSM3, sm3.New},
		"ocsp-revoked.der":  {ic, serialOf(revoked), oidSHA1, sha1.New},
	} {
		resp, err := e.s.RespondOCSP(ctx, tenant, "issuing", ocspRequestDER(t, []byte("nonce"), q))
		if err != nil {
			t.Fatal(err)
		}
		interoptest.WriteFiles(t, dir, map[string][]byte{name: resp})
	}
	interoptest.WriteFiles(t, dir, map[string][]byte{
		"root.pem": []byte(pemCert(root.Certificate)), "inter.pem": []byte(pemCert(inter.Certificate)),
		"leaf.pem": []byte(leaf.PEM()), "crl.der": crl, "revoked.hex": []byte(revoked.Serial),
	})

	out := bc.Run(t, filepath.Join("testdata", "java", "PkiCheck.java"), "PkiCheck", dir)
	for _, want := range []string{
		"path OK: CN=bc.example.com <- CN=root Root CA",
		"crl OK: SM3WITHSM2, revoked " + strings.TrimLeft(revoked.Serial, "0"),
		"ocsp OK: ocsp-good.der good, 1.3.14.3.2.26, 1.2.156.10197.1.501",
		"ocsp OK: ocsp-good-sm3.der good, 1.2.156.10197.1.401, 1.2.156.10197.1.501",
		"ocsp OK: ocsp-revoked.der revoked",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("BouncyCastle output lacks %q:\n%s", want, out)
		}
	}
}
