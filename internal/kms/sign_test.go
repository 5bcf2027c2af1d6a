package kms

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/pem"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

// parsePublicKeyPEM reads one PEM "PUBLIC KEY" block holding an SM2 key.
func parsePublicKeyPEM(t *testing.T, s string) *ecdsa.PublicKey {
	t.Helper()
	block, rest := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" || len(rest) != 0 {
		t.Fatalf("not one PEM PUBLIC KEY block: %q", s)
	}
	pub, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return sm2Public(t, pub)
}

// sm2Public asserts that pub is an SM2 public key.
func sm2Public(t *testing.T, pub crypto.PublicKey) *ecdsa.PublicKey {
	t.Helper()
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve != sm2.P256() {
		t.Fatalf("public key %T is not on the SM2 curve", pub)
	}
	return ec
}

func TestSignAndVerify(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "signer", device.SM2)
	pk, err := s.PublicKey(ctx, "acme", "signer", 0)
	if err != nil || pk.Version != 1 {
		t.Fatalf("PublicKey = %+v, %v", pk, err)
	}
	pub := sm2Public(t, pk.Key)
	msg := []byte("pay 100 to bob")
	e, err := device.SM2Digest(pub, nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	eAlice, err := device.SM2Digest(pub, []byte("alice"), msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  SignRequest
		uid  []byte // identity a plain verifier must use
	}{
		{"message", SignRequest{Input: msg}, nil},
		{"message with uid", SignRequest{Input: msg, UID: []byte("alice")}, []byte("alice")},
		{"prehashed", SignRequest{Input: e, Prehashed: true}, nil},
		{"prehashed alice", SignRequest{Input: eAlice, Prehashed: true}, []byte("alice")},
	} {
		sig, err := s.Sign(ctx, "acme", "signer", tc.req)
		if err != nil || sig.Version != 1 {
			t.Fatalf("%s: Sign = %+v, %v", tc.name, sig, err)
		}
		if !sm2.VerifyASN1WithSM2(pub, tc.uid, msg, sig.Signature) {
			t.Errorf("%s: gmsm does not verify the signature", tc.name)
		}
		for _, v := range []struct {
			req  VerifyRequest
			want bool
		}{
			{VerifyRequest{Input: msg, UID: tc.uid, Signature: sig.Signature}, true},
			{VerifyRequest{Input: e, Prehashed: true, Signature: sig.Signature}, tc.uid == nil},
			{VerifyRequest{Input: []byte("pay 900 to bob"), UID: tc.uid, Signature: sig.Signature}, false},
			{VerifyRequest{Input: msg, UID: []byte("mallory"), Signature: sig.Signature}, false},
			{VerifyRequest{Input: msg, UID: tc.uid, Signature: append(sig.Signature, 0)}, false},
			{VerifyRequest{Input: msg, UID: tc.uid, Signature: []byte("garbage")}, false},
			{VerifyRequest{Input: msg, UID: tc.uid}, false},
		} {
			got, err := s.Verify(ctx, "acme", "signer", v.req)
			if err != nil || got.Valid != v.want {
				t.Errorf("%s: Verify(%+v) = %v, %v; want %v", tc.name, v.req.Input, got, err, v.want)
			}
		}
	}
}

func TestSignVersionsAndErrors(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "signer", device.SM2)
	mustCreate(t, s, "acme", "sym", device.SM4)
	old, err := s.Sign(ctx, "acme", "signer", SignRequest{Input: []byte("m")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rotate(ctx, "acme", "signer"); err != nil {
		t.Fatal(err)
	}
	pk1, _ := s.PublicKey(ctx, "acme", "signer", 1)
	pk2, _ := s.PublicKey(ctx, "acme", "signer", 0)
	if sm2Public(t, pk1.Key).Equal(pk2.Key) || pk2.Version != 2 {
		t.Fatal("the versions share a public key")
	}
	if got, err := s.Verify(ctx, "acme", "signer", VerifyRequest{Input: []byte("m"), Signature: old.Signature, Version: 2}); got.Valid || err != nil {
		t.Fatalf("version 2 verified the old signature: %v, %v", got, err)
	}
	for _, version := range []int{0, 1} {
		if got, err := s.Verify(ctx, "acme", "signer", VerifyRequest{Input: []byte("m"), Signature: old.Signature, Version: version}); got != (Verdict{Valid: true, Version: 1}) || err != nil {
			t.Fatalf("version %d: the old signature gives %+v, %v", version, got, err)
		}
	}
	if _, err := s.SetMinVersions(ctx, "acme", "signer", MinVersions{Decryption: 2, Encryption: 2}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Verify(ctx, "acme", "signer", VerifyRequest{Input: []byte("m"), Signature: old.Signature}); got.Valid || err != nil {
		t.Fatalf("a version below the minimum verified: %+v, %v", got, err)
	}
	for _, tc := range []struct {
		name string
		err  error
		code fault.Code
	}{
		{"verify below minimum", second(s.Verify(ctx, "acme", "signer", VerifyRequest{Input: []byte("m"), Signature: old.Signature, Version: 1})), fault.KeyVersionTooOld},
		{"sign below minimum", second(s.Sign(ctx, "acme", "signer", SignRequest{Input: []byte("m"), Version: 1})), fault.KeyVersionTooOld},
		{"sign absent version", second(s.Sign(ctx, "acme", "signer", SignRequest{Input: []byte("m"), Version: 3})), fault.InvalidArgument},
		{"verify absent version", second(s.Verify(ctx, "acme", "signer", VerifyRequest{Input: []byte("m"), Version: 3})), fault.InvalidArgument},
		{"prehashed short", second(s.Sign(ctx, "acme", "signer", SignRequest{Input: make([]byte, 31), Prehashed: true})), fault.InvalidArgument},
		{"prehashed with uid", second(s.Sign(ctx, "acme", "signer", SignRequest{Input: make([]byte, 32), Prehashed: true, UID: []byte("a")})), fault.InvalidArgument},
		{"uid too long", second(s.Sign(ctx, "acme", "signer", SignRequest{Input: []byte("m"), UID: make([]byte, maxUID+1)})), fault.InvalidArgument},
		{"sign with sm4", second(s.Sign(ctx, "acme", "sym", SignRequest{Input: []byte("m")})), fault.KeyTypeMismatch},
		{"verify with sm4", second(s.Verify(ctx, "acme", "sym", VerifyRequest{Input: []byte("m")})), fault.KeyTypeMismatch},
		{"public key of sm4", second(s.PublicKey(ctx, "acme", "sym", 0)), fault.KeyTypeMismatch},
		{"public key absent version", second(s.PublicKey(ctx, "acme", "signer", 3)), fault.InvalidArgument},
		{"public key missing key", second(s.PublicKey(ctx, "acme", "nope", 0)), fault.KeyNotFound},
	} {
		wantCode(t, tc.name, tc.err, tc.code)
	}
	if _, err := s.Sign(ctx, "acme", "signer", SignRequest{Input: []byte("m"), UID: make([]byte, maxUID)}); err != nil {
		t.Fatalf("longest uid: %v", err)
	}
}
