package pki

import (
	"crypto/ecdsa"
	"crypto/sha1"
	"encoding/pem"
	"math/big"
	"testing"

	"github.com/mimacrypto/mima/internal/fault"
)

// FuzzParseCSR feeds SignCSR's parser: any input is a CSR for an SM2 key
// with a valid signature, or an error with a code.
func FuzzParseCSR(f *testing.F) {
	der, _ := newCSR(f, "fuzz.example.com", "fuzz.example.com")
	f.Add(der)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n"))
	f.Add([]byte{0x30, 0x80})
	f.Fuzz(func(t *testing.T, in []byte) {
		csr, _, err := parseCSR(in)
		if err != nil {
			if _, ok := fault.As(err); !ok {
				t.Fatalf("an error without a code: %v", err)
			}
			return
		}
		if csr.CheckSignature() != nil {
			t.Fatal("accepted a CSR whose signature does not verify")
		}
	})
}

// FuzzParseCertificate feeds the parsers of InstallCertificate and
// ImportCA: a certificate (DER or PEM) and a PEM chain.
func FuzzParseCertificate(f *testing.F) {
	e := newEnv(f)
	root := e.root(f, "root")
	f.Add(root.Certificate, []byte(pemCert(root.Certificate)))
	f.Add([]byte(pemCert(root.Certificate)), []byte(pemCert(root.Certificate)+pemCert(root.Certificate)))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01}, []byte("junk"))
	f.Fuzz(func(t *testing.T, certIn, chainIn []byte) {
		for _, err := range []error{
			func() error { _, err := parseCertificate(certIn); return err }(),
			func() error { _, err := parseChain(chainIn); return err }(),
		} {
			if fe, ok := fault.As(err); err != nil && (!ok || fe.Code != fault.CertificateInvalid) {
				t.Fatalf("error %v is not certificate_invalid", err)
			}
		}
		if chain, err := parseChain(chainIn); err == nil && len(chain) > maxChain {
			t.Fatalf("a chain of %d certificates", len(chain))
		}
	})
}

// FuzzParseOCSPRequest feeds the OCSP request parser, and RespondOCSP,
// which must always answer with an OCSPResponse.
func FuzzParseOCSPRequest(f *testing.F) {
	e := newEnv(f)
	root := e.root(f, "root")
	rc := parseCert(f, root.Certificate)
	f.Add(ocspRequestDER(f, []byte("nonce"), query{rc, big.NewInt(1), oidSHA1, sha1.New}))
	f.Add(ocspRequestDER(f, nil, query{rc, big.NewInt(1), oidSHA1, sha1.New}, query{rc, big.NewInt(2), oidSHA1, sha1.New}))
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		q, err := parseOCSPRequest(in)
		if err == nil && (len(q.certs) == 0 || len(q.certs) > maxOCSPCerts) {
			t.Fatalf("accepted %d certificates", len(q.certs))
		}
		resp, err := e.s.RespondOCSP(ctx, tenant, "root", in)
		if err != nil {
			t.Fatal(err)
		}
		if d := decodeOCSP(t, resp, rc.PublicKey.(*ecdsa.PublicKey)); (d.status == ocspSuccessful) != (q != nil) {
			t.Fatalf("status %d for a request that parsed: %v", d.status, q != nil)
		}
	})
}
