// Package tlcptest makes SM2 test certificates for TLCP: a root CA, dual
// (signing and encryption) certificates, and their PEM files.
package tlcptest

import (
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// Key usages of the two certificates of a pair (GB/T 38636-2020 6.4.5.3).
const (
	SignUsage = smx509.KeyUsageDigitalSignature
	EncUsage  = smx509.KeyUsageKeyEncipherment | smx509.KeyUsageDataEncipherment | smx509.KeyUsageKeyAgreement
)

var serial atomic.Int64

func nextSerial() *big.Int { return big.NewInt(1000 + serial.Add(1)) }

// Name is the distinguished name the package gives a test identity.
func Name(cn string) pkix.Name {
	return pkix.Name{CommonName: cn, Organization: []string{"mima test"}}
}

// CA is an SM2 root certification authority valid for ten days.
type CA struct {
	Cert *smx509.Certificate
	Key  *sm2.PrivateKey
	Pool *smx509.CertPool // holds Cert
}

// NewCA makes a root CA named name.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &smx509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               Name(name),
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
	return &CA{Cert: cert, Key: key, Pool: pool}
}

// Template is a leaf certificate template for name (also its DNS name)
// with usage, valid for a day.
func Template(name string, usage smx509.KeyUsage) *smx509.Certificate {
	return &smx509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      Name(name),
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     usage,
	}
}

// Issue certifies a fresh SM2 key under tmpl and returns the certificate
// DER and the key.
func (ca *CA) Issue(t testing.TB, tmpl *smx509.Certificate) ([]byte, *sm2.PrivateKey) {
	t.Helper()
	key := newKey(t)
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

// Dual is a signing and an encryption certificate with their keys.
type Dual struct {
	SignCert, EncCert []byte // DER
	SignKey, EncKey   *sm2.PrivateKey
}

// Dual issues a pair for name, the signing certificate for server and
// client authentication; edit, when not nil, changes the templates first.
func (ca *CA) Dual(t testing.TB, name string, edit func(sign, enc *smx509.Certificate)) Dual {
	t.Helper()
	sign, enc := Template(name, SignUsage), Template(name, EncUsage)
	sign.ExtKeyUsage = []smx509.ExtKeyUsage{smx509.ExtKeyUsageServerAuth, smx509.ExtKeyUsageClientAuth}
	if edit != nil {
		edit(sign, enc)
	}
	var d Dual
	d.SignCert, d.SignKey = ca.Issue(t, sign)
	d.EncCert, d.EncKey = ca.Issue(t, enc)
	return d
}

// Files are the PEM files of a pair.
type Files struct {
	SignCert, SignKey, EncCert, EncKey string
}

// WriteFiles writes the pair as PEM into dir, named <prefix>-sign.pem,
// <prefix>-sign.key, <prefix>-enc.pem and <prefix>-enc.key (PKCS#8).
func (d Dual) WriteFiles(t testing.TB, dir, prefix string) Files {
	t.Helper()
	f := Files{
		SignCert: filepath.Join(dir, prefix+"-sign.pem"), SignKey: filepath.Join(dir, prefix+"-sign.key"),
		EncCert: filepath.Join(dir, prefix+"-enc.pem"), EncKey: filepath.Join(dir, prefix+"-enc.key"),
	}
	WriteCert(t, f.SignCert, d.SignCert)
	WriteCert(t, f.EncCert, d.EncCert)
	writeKey(t, f.SignKey, d.SignKey)
	writeKey(t, f.EncKey, d.EncKey)
	return f
}

// WriteCert writes one certificate as PEM.
func WriteCert(t testing.TB, path string, der []byte) {
	t.Helper()
	write(t, path, &pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func writeKey(t testing.TB, path string, key *sm2.PrivateKey) {
	t.Helper()
	der, err := smx509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write(t, path, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func write(t testing.TB, path string, b *pem.Block) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newKey(t testing.TB) *sm2.PrivateKey {
	t.Helper()
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
