package crlcheck

import (
	"crypto/rand"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/filewatch"
	"github.com/mimacrypto/mima/internal/tlcptest"
	"github.com/mimacrypto/mima/tlcp"
)

func crl(t *testing.T, ca *tlcptest.CA, next time.Time, serials ...*big.Int) []byte {
	t.Helper()
	tmpl := &smx509.RevocationList{Number: big.NewInt(time.Now().UnixNano()), ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: next}
	for _, s := range serials {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, smx509.RevocationListEntry{SerialNumber: s, RevocationTime: time.Now()})
	}
	der, err := smx509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func serial(t *testing.T, der []byte) *big.Int {
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c.SerialNumber
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	ca, other := tlcptest.NewCA(t, "CRL Root"), tlcptest.NewCA(t, "Other Root")
	good, signRevoked, encRevoked := ca.Dual(t, "good.test", nil), ca.Dual(t, "sign.test", nil), ca.Dual(t, "enc.test", nil)
	stranger := other.Dual(t, "stranger.test", nil)
	later := time.Now().Add(24 * time.Hour)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	der := write("ca.crl", crl(t, ca, later, serial(t, signRevoked.SignCert), serial(t, encRevoked.EncCert)))
	// A CRL claiming the CA's name but signed by another key is ignored.
	forged := tlcptest.CA{Cert: ca.Cert, Key: other.Key}
	pemFile := write("forged.pem", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl(t, &forged, later, serial(t, good.SignCert))}))
	c, err := New(der, pemFile)
	if err != nil {
		t.Fatal(err)
	}
	check := func(d tlcptest.Dual, issuer *tlcptest.CA) error {
		leaf, err := smx509.ParseCertificate(d.SignCert)
		if err != nil {
			t.Fatal(err)
		}
		return c.Verify([][]byte{d.SignCert, d.EncCert}, [][]*smx509.Certificate{{leaf, issuer.Cert}})
	}
	if err := check(good, ca); err != nil {
		t.Fatalf("good certificate: %v", err)
	}
	for name, d := range map[string]tlcptest.Dual{"signing": signRevoked, "encryption": encRevoked} {
		if err := check(d, ca); !errors.Is(err, tlcp.ErrCertificateRevoked) {
			t.Errorf("revoked %s certificate: %v", name, err)
		}
	}
	if err := check(stranger, other); err != nil {
		t.Errorf("a certificate of a CA without CRL: %v", err)
	}

	// The file changes: the next check after the recheck interval sees it.
	clock := time.Now()
	c.now = func() time.Time { return clock }
	c.crls.SetClock(c.now)
	write("ca.crl", crl(t, ca, time.Now().Add(-time.Minute), serial(t, signRevoked.SignCert)))
	if err := os.Chtimes(der, time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * filewatch.Recheck)
	if err := check(good, ca); err == nil {
		t.Fatal("an expired CRL was accepted")
	}

	for _, bad := range []string{write("junk.crl", []byte("junk")), write("empty.pem", []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")), filepath.Join(dir, "missing")} {
		if _, err := New(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
