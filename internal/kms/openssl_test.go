package kms

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/interoptest"
)

// TestOpenSSLVerifiesServiceSignatures checks Sign and PublicKey against
// OpenSSL 3: pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:<uid>.
func TestOpenSSLVerifiesServiceSignatures(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "signer", device.SM2)
	dir := t.TempDir()
	msg := []byte("signed by mima, verified by openssl")
	pk, err := s.PublicKey(ctx, "acme", "signer", 0)
	if err != nil {
		t.Fatal(err)
	}
	pub := sm2Public(t, pk.Key)
	interoptest.WriteFiles(t, dir, map[string][]byte{"msg": msg, "pub.pem": []byte(pemOf(t, pub))})
	eAlice, err := device.SM2Digest(pub, []byte("alice@example.com"), msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  SignRequest
		uid  string
	}{
		{"default uid", SignRequest{Input: msg}, device.DefaultUID},
		{"custom uid", SignRequest{Input: msg, UID: []byte("alice@example.com")}, "alice@example.com"},
		{"prehashed", SignRequest{Input: eAlice, Prehashed: true}, "alice@example.com"},
	} {
		sig, err := s.Sign(ctx, "acme", "signer", tc.req)
		if err != nil {
			t.Fatal(err)
		}
		interoptest.WriteFiles(t, dir, map[string][]byte{"sig": sig.Signature})
		out := interoptest.OpenSSL(t, dir, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
			"-sigfile", "sig", "-digest", "sm3", "-pkeyopt", "distid:"+tc.uid)
		if !strings.Contains(string(out), "Signature Verified Successfully") {
			t.Errorf("%s: openssl says %q", tc.name, out)
		}
	}
	out := interoptest.OpenSSL(t, dir, "pkey", "-pubin", "-in", "pub.pem", "-text", "-noout")
	if !strings.Contains(string(out), "SM2") {
		t.Errorf("openssl does not read the PEM as an SM2 key: %s", out)
	}
}

func TestOpenSSLHash(t *testing.T) {
	s, _, _ := newTestService(t)
	dir := t.TempDir()
	data, err := s.Random(ctx, "acme", 1000)
	if err != nil {
		t.Fatal(err)
	}
	interoptest.WriteFiles(t, dir, map[string][]byte{"data": data})
	sum, err := s.Hash(ctx, "acme", data)
	if err != nil {
		t.Fatal(err)
	}
	if out := interoptest.OpenSSL(t, dir, "dgst", "-sm3", "-r", "data"); !strings.HasPrefix(string(out), hex.EncodeToString(sum)) {
		t.Fatalf("openssl %q, ours %x", out, sum)
	}
}
