package tlcp

import (
	"bytes"
	"crypto"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/mimacrypto/mima/internal/tlcptest"
)

// goldenIdentities loads (or, with -update, creates) the fixed PKI.
func goldenIdentities(t testing.TB) (ca *smx509.Certificate, server, client *Certificate) {
	t.Helper()
	goldenMu.Lock()
	defer goldenMu.Unlock()
	if goldenCache == nil {
		if *update {
			writeGoldenPKI(t)
		}
		load := func(name string) *Certificate {
			sc, sk := loadPair(t, "golden_"+name+"_sign.pem")
			ec, ek := loadPair(t, "golden_"+name+"_enc.pem")
			return &Certificate{SignCertificate: sc, SignKey: sk, EncCertificate: ec, EncKey: ek}
		}
		goldenCache = &goldenPKI{loadCert(t, "golden_ca.pem"), load("server"), load("client")}
	}
	return goldenCache.ca, goldenCache.server, goldenCache.client
}

// goldenPKI is loaded once per test binary.
type goldenPKI struct {
	ca             *smx509.Certificate
	server, client *Certificate
}

var (
	goldenMu    sync.Mutex
	goldenCache *goldenPKI
)

func readPEM(t testing.TB, name string) []*pem.Block {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []*pem.Block
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return blocks
		}
		blocks = append(blocks, b)
	}
}

func loadCert(t testing.TB, name string) *smx509.Certificate {
	t.Helper()
	return mustParse(t, readPEM(t, name)[0].Bytes)
}

func loadPair(t testing.TB, name string) ([]byte, *sm2.PrivateKey) {
	t.Helper()
	b := readPEM(t, name)
	key, err := smx509.ParsePKCS8PrivateKey(b[1].Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return b[0].Bytes, key.(*sm2.PrivateKey)
}

// writeGoldenPKI creates the golden CA and the server's and client's dual
// certificates from fixed scalars, valid 2025-2035.
func writeGoldenPKI(t testing.TB) {
	t.Helper()
	rnd := &detRand{seed: "golden pki"}
	key := func(i int64) *sm2.PrivateKey {
		k, err := sm2.NewPrivateKeyFromInt(big.NewInt(0x1234567 * i))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	notBefore, notAfter := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)
	caKey := key(1)
	caTmpl := &smx509.Certificate{
		SerialNumber: big.NewInt(1), Subject: tlcptest.Name("Golden SM2 Root"),
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage:              smx509.KeyUsageCertSign,
		BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := smx509.CreateCertificate(rnd, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, "golden_ca.pem", caDER, nil)
	ca := mustParse(t, caDER)
	serial := int64(2)
	for _, name := range []string{"server", "client"} {
		for _, kind := range []string{"sign", "enc"} {
			k := key(serial)
			tmpl := tlcptest.Template(name+".test", tlcptest.SignUsage)
			tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = big.NewInt(serial), notBefore, notAfter
			if kind == "enc" {
				tmpl.KeyUsage = tlcptest.EncUsage
			} else {
				tmpl.ExtKeyUsage = []smx509.ExtKeyUsage{smx509.ExtKeyUsageServerAuth, smx509.ExtKeyUsageClientAuth}
			}
			der, err := smx509.CreateCertificate(rnd, tmpl, ca, &k.PublicKey, caKey)
			if err != nil {
				t.Fatal(err)
			}
			writePEM(t, fmt.Sprintf("golden_%s_%s.pem", name, kind), der, k)
			serial++
		}
	}
}

func writePEM(t testing.TB, name string, der []byte, key crypto.PrivateKey) {
	t.Helper()
	var buf bytes.Buffer
	_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	if key != nil {
		k, err := smx509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		_ = pem.Encode(&buf, &pem.Block{Type: "PRIVATE KEY", Bytes: k})
	}
	if err := os.WriteFile(filepath.Join("testdata", name), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
