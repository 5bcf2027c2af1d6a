package kms

import (
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

// itemCodes returns "" for a successful item, else its error code.
func itemCodes[T any](rs []Result[T]) []fault.Code {
	out := make([]fault.Code, len(rs))
	for i, r := range rs {
		if r.Err != nil {
			out[i] = fault.CodeOf(r.Err)
		}
	}
	return out
}

func wantItems(t *testing.T, what string, got, want []fault.Code) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d results, want %d", what, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s item %d: code %q, want %q", what, i, got[i], want[i])
		}
	}
}

func TestBatchesIsolateBadItems(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "sym", device.SM4, derived)
	mustCreate(t, s, "acme", "asym", device.SM2)
	mustCreate(t, s, "acme", "mac", device.HMACSM3)
	const ok, bad, dec, old = fault.Code(""), fault.InvalidArgument, fault.DecryptFailed, fault.KeyVersionTooOld

	enc, err := s.EncryptBatch(ctx, "acme", "sym", []EncryptRequest{
		{Plaintext: []byte("a")}, {Plaintext: []byte("b"), Version: 9}, {Plaintext: []byte("c"), AAD: []byte("x")}, {SM2Format: SM2ASN1},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantItems(t, "EncryptBatch", itemCodes(enc), []fault.Code{ok, bad, ok, bad})

	decs, err := s.DecryptBatch(ctx, "acme", "sym", []DecryptRequest{
		{Ciphertext: enc[0].Value}, {Ciphertext: "garbage"}, {Ciphertext: enc[2].Value, AAD: []byte("x")}, {Ciphertext: enc[2].Value},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantItems(t, "DecryptBatch", itemCodes(decs), []fault.Code{ok, dec, ok, dec})
	if string(decs[0].Value) != "a" || string(decs[2].Value) != "c" {
		t.Errorf("DecryptBatch values %q, %q", decs[0].Value, decs[2].Value)
	}

	re, err := s.ReEncryptBatch(ctx, "acme", "sym", "asym", []ReEncryptRequest{{Ciphertext: enc[0].Value}, {Ciphertext: "x"}, {Ciphertext: enc[2].Value, AAD: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	wantItems(t, "ReEncryptBatch", itemCodes(re), []fault.Code{ok, dec, ok})

	sigs, err := s.SignBatch(ctx, "acme", "asym", []SignRequest{{Input: []byte("m")}, {Input: []byte("short"), Prehashed: true}, {Input: []byte("n"), Version: 2}})
	if err != nil {
		t.Fatal(err)
	}
	wantItems(t, "SignBatch", itemCodes(sigs), []fault.Code{ok, bad, bad})
	vers, err := s.VerifyBatch(ctx, "acme", "asym", []VerifyRequest{
		{Input: []byte("m"), Signature: sigs[0].Value.Signature}, {Input: []byte("x"), Signature: sigs[0].Value.Signature}, {Input: []byte("m"), Version: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantItems(t, "VerifyBatch", itemCodes(vers), []fault.Code{ok, ok, bad})
	if !vers[0].Value.Valid || vers[1].Value.Valid {
		t.Errorf("VerifyBatch values %v, %v", vers[0].Value, vers[1].Value)
	}

	macs, err := s.MACBatch(ctx, "acme", "mac", []MACRequest{{Input: []byte("m")}, {Input: []byte("m"), Derivation: &Derivation{DeviceID: "d"}}})
	if err != nil {
		t.Fatal(err)
	}
	wantItems(t, "MACBatch", itemCodes(macs), []fault.Code{ok, bad})
	vmacs, err := s.VerifyMACBatch(ctx, "acme", "mac", []VerifyMACRequest{{Input: []byte("m"), MAC: macs[0].Value.MAC}, {Input: []byte("m"), Version: 3}})
	if err != nil {
		t.Fatal(err)
	}
	wantItems(t, "VerifyMACBatch", itemCodes(vmacs), []fault.Code{ok, bad})
	if !vmacs[0].Value {
		t.Error("VerifyMACBatch rejected a good MAC")
	}

	dks, err := s.DataKeyBatch(ctx, "acme", "sym", []DataKeyRequest{{Kind: DataKeySM4}, {Kind: "rsa"}, {Kind: DataKeySM2, WithPlaintext: true}})
	if err != nil {
		t.Fatal(err)
	}
	wantItems(t, "DataKeyBatch", itemCodes(dks), []fault.Code{ok, bad, ok})

	ders, err := s.DeriveBatch(ctx, "acme", "sym", []DeriveRequest{{Derivation: Derivation{DeviceID: "d1"}}, {}, {Derivation: Derivation{DeviceID: "d2"}}})
	if err != nil {
		t.Fatal(err)
	}
	wantItems(t, "DeriveBatch", itemCodes(ders), []fault.Code{ok, bad, ok})

	hashes, err := s.HashBatch(ctx, "acme", [][]byte{[]byte("abc"), nil})
	if err != nil || len(hashes) != 2 || len(hashes[1].Value) != 32 {
		t.Fatalf("HashBatch = %v, %v", hashes, err)
	}

	if _, err := s.SetMinVersions(ctx, "acme", "sym", MinVersions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rotate(ctx, "acme", "sym"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetMinVersions(ctx, "acme", "sym", MinVersions{Decryption: 2, Encryption: 2}); err != nil {
		t.Fatal(err)
	}
	decs, err = s.DecryptBatch(ctx, "acme", "sym", []DecryptRequest{{Ciphertext: enc[0].Value}, {Ciphertext: mustEncrypt(t, s, "acme", "sym", EncryptRequest{Plaintext: []byte("new")})}})
	if err != nil {
		t.Fatal(err)
	}
	wantItems(t, "DecryptBatch after minimum", itemCodes(decs), []fault.Code{old, ok})
}

func TestBatchLevelErrors(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "sym", device.SM4)
	mustCreate(t, s, "acme", "asym", device.SM2)
	n := MaxBatch + 1
	for _, tc := range []struct {
		name string
		err  error
		code fault.Code
	}{
		{"encrypt too large", second(s.EncryptBatch(ctx, "acme", "sym", make([]EncryptRequest, n))), fault.BatchTooLarge},
		{"decrypt too large", second(s.DecryptBatch(ctx, "acme", "sym", make([]DecryptRequest, n))), fault.BatchTooLarge},
		{"reencrypt too large", second(s.ReEncryptBatch(ctx, "acme", "sym", "", make([]ReEncryptRequest, n))), fault.BatchTooLarge},
		{"sign too large", second(s.SignBatch(ctx, "acme", "asym", make([]SignRequest, n))), fault.BatchTooLarge},
		{"verify too large", second(s.VerifyBatch(ctx, "acme", "asym", make([]VerifyRequest, n))), fault.BatchTooLarge},
		{"mac too large", second(s.MACBatch(ctx, "acme", "sym", make([]MACRequest, n))), fault.BatchTooLarge},
		{"verifymac too large", second(s.VerifyMACBatch(ctx, "acme", "sym", make([]VerifyMACRequest, n))), fault.BatchTooLarge},
		{"datakey too large", second(s.DataKeyBatch(ctx, "acme", "sym", make([]DataKeyRequest, n))), fault.BatchTooLarge},
		{"derive too large", second(s.DeriveBatch(ctx, "acme", "sym", make([]DeriveRequest, n))), fault.BatchTooLarge},
		{"hash too large", second(s.HashBatch(ctx, "acme", make([][]byte, n))), fault.BatchTooLarge},
		{"missing key", second(s.EncryptBatch(ctx, "acme", "nope", make([]EncryptRequest, 2))), fault.KeyNotFound},
		{"wrong type", second(s.SignBatch(ctx, "acme", "sym", make([]SignRequest, 2))), fault.KeyTypeMismatch},
	} {
		wantCode(t, tc.name, tc.err, tc.code)
	}
	if rs, err := s.EncryptBatch(ctx, "acme", "sym", make([]EncryptRequest, MaxBatch)); err != nil || len(rs) != MaxBatch {
		t.Fatalf("a full batch: %d results, %v", len(rs), err)
	}
}
