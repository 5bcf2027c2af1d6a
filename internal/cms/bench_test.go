package cms

import (
	"bytes"
	"testing"
)

// BenchmarkSign signs 4 KiB with a key of the key service: certificate
// lookup, SM3, one SM2 signature, DER.
func BenchmarkSign(b *testing.B) {
	e := newEnv(b)
	e.root(b, "root")
	e.key(b, "root", "alice")
	req := SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: bytes.Repeat([]byte("x"), 4096)}
	for b.Loop() {
		if _, err := e.s.Sign(ctx, tenant, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTimestamp answers an SM3 TimeStampReq: parse, serial counter
// read and write, one SM2 signature, DER.
func BenchmarkTimestamp(b *testing.B) {
	e := newEnv(b)
	e.root(b, "root")
	e.tsa(b, "root", "tsa")
	req := query(b, []byte("document"))
	for b.Loop() {
		if _, err := e.s.Timestamp(ctx, tenant, "tsa", req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify verifies a signed and timestamped document: two SM2
// signatures, two chains, two CRL lookups.
func BenchmarkVerify(b *testing.B) {
	e := newEnv(b)
	e.root(b, "root")
	e.key(b, "root", "alice")
	e.tsa(b, "root", "tsa")
	doc := e.sign(b, SignRequest{SignerOptions: SignerOptions{Key: "alice", TSA: "tsa"}, Content: []byte("document")})
	for b.Loop() {
		if r, err := e.s.Verify(ctx, tenant, VerifyRequest{CMS: doc}); err != nil || !r.Valid {
			b.Fatal(r, err)
		}
	}
}
