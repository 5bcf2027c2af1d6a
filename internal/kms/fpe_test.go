package kms

import (
	"testing"

	"github.com/emmansun/gmsm/sm4"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/sdk/fieldcrypt/ff1"
)

// TestFPEMatchesFieldKey: the service's FF1 runs under the key that
// Derive gives sdk/fieldcrypt for its FPE mode, so the same value encrypts
// alike through the API and locally; it round-trips, keeps the alphabet
// and length, and works on keys made without derived=true too.
func TestFPEMatchesFieldKey(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "pii", device.SM4, derived)
	mustCreate(t, s, "acme", "plain", device.SM4)
	req := FPERequest{Alphabet: ff1.Digits, Input: "13812345678", Tweak: []byte("phone")}
	out, err := s.FPE(ctx, "acme", "pii", req, false)
	if err != nil || len(out.Output) != 11 || out.Output == req.Input || out.Version != 1 {
		t.Fatalf("FPE = %+v, %v", out, err)
	}
	dk, err := s.Derive(ctx, "acme", "pii", DeriveRequest{Derivation: fpeDerivation, WithPlaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	block, _ := sm4.NewCipher(dk.Plaintext)
	c, _ := ff1.New(block, 10)
	a, _ := ff1.NewAlphabet(ff1.Digits)
	if local, _ := ff1.EncryptString(c, a, req.Tweak, req.Input); local != out.Output {
		t.Errorf("the service gave %s, the derived key gives %s", out.Output, local)
	}
	back, err := s.FPE(ctx, "acme", "pii", FPERequest{Input: out.Output, Tweak: req.Tweak}, true)
	if err != nil || back.Output != req.Input {
		t.Errorf("decrypt = %+v, %v", back, err)
	}
	if _, err := s.FPE(ctx, "acme", "plain", req, false); err != nil {
		t.Errorf("a key without derived=true: %v", err)
	}
	wantCode(t, "a letter", func() error { _, err := s.FPE(ctx, "acme", "pii", FPERequest{Input: "1381234567a"}, false); return err }(), fault.InvalidArgument)
	wantCode(t, "too short", func() error { _, err := s.FPE(ctx, "acme", "pii", FPERequest{Input: "12345"}, false); return err }(), fault.InvalidArgument)
	wantCode(t, "a repeated alphabet", func() error {
		_, err := s.FPE(ctx, "acme", "pii", FPERequest{Alphabet: "00", Input: "000000"}, false)
		return err
	}(), fault.InvalidArgument)
	wantCode(t, "no such version", func() error {
		_, err := s.FPE(ctx, "acme", "pii", FPERequest{Input: "123456", Version: 9}, false)
		return err
	}(), fault.InvalidArgument)
	mustCreate(t, s, "acme", "signer", device.SM2)
	wantCode(t, "an sm2 key", func() error { _, err := s.FPE(ctx, "acme", "signer", req, false); return err }(), fault.KeyTypeMismatch)
}
