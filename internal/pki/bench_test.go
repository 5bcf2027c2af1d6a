package pki

import (
	"crypto/sha1"
	"testing"
)

// BenchmarkSignCSR measures issuance from a CSR: parse, verify, profile
// checks, serial allocation, an SM2 signature through the key service and
// the store.
func BenchmarkSignCSR(b *testing.B) {
	e := newEnv(b)
	e.root(b, "root")
	der, _ := newCSR(b, "bench.example.com", "bench.example.com")
	for b.Loop() {
		if _, err := e.s.SignCSR(ctx, tenant, "root", SignCSRRequest{CSR: der}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRespondOCSP measures one OCSP answer about one certificate:
// parse, a certificate lookup and an SM2 signature.
func BenchmarkRespondOCSP(b *testing.B) {
	e := newEnv(b)
	root := e.root(b, "root")
	leaf, _ := e.signCSR(b, "root", "bench")
	req := ocspRequestDER(b, []byte("nonce"), query{parseCert(b, root.Certificate), parseCert(b, leaf.DER).SerialNumber, oidSHA1, sha1.New})
	for b.Loop() {
		if _, err := e.s.RespondOCSP(ctx, tenant, "root", req); err != nil {
			b.Fatal(err)
		}
	}
}
