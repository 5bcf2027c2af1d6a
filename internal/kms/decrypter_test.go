package kms

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

// TestDecrypterOpensEveryAllowedVersion encrypts to two versions of an sm2
// key in both ciphertext forms and opens each through one Decrypter, until
// the minimum decryption version shuts the old one out.
func TestDecrypterOpensEveryAllowedVersion(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "k", device.SM2)
	dec, err := s.Decrypter(ctx, "acme", "k")
	if err != nil {
		t.Fatal(err)
	}
	v1 := dec.Public().(*ecdsa.PublicKey)
	if _, err := s.Rotate(ctx, "acme", "k"); err != nil {
		t.Fatal(err)
	}
	latest, err := s.Decrypter(ctx, "acme", "k")
	if err != nil {
		t.Fatal(err)
	}
	v2 := latest.Public().(*ecdsa.PublicKey)
	if v1.Equal(v2) {
		t.Fatal("rotation kept the public key")
	}
	msg := []byte("content encryption key")
	seal := func(pub *ecdsa.PublicKey, asn1Form bool) []byte {
		t.Helper()
		var ct []byte
		var err error
		if asn1Form {
			ct, err = sm2.EncryptASN1(rand.Reader, pub, msg)
		} else {
			ct, err = sm2.Encrypt(rand.Reader, pub, msg, sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2))
		}
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}
	old := seal(v1, true)
	for name, ct := range map[string][]byte{
		"v1 asn1": old, "v1 c1c3c2": seal(v1, false), "v2 asn1": seal(v2, true), "v2 c1c3c2": seal(v2, false),
	} {
		pt, err := latest.Decrypt(nil, ct, nil)
		if err != nil || !bytes.Equal(pt, msg) {
			t.Errorf("%s: got %q, %v", name, pt, err)
		}
	}
	if _, err := latest.Decrypt(nil, []byte("not a ciphertext"), nil); !fault.Is(err, fault.DecryptFailed) {
		t.Errorf("garbage: got %v, want decrypt_failed", err)
	}
	if _, err := s.SetMinVersions(ctx, "acme", "k", MinVersions{Decryption: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := latest.Decrypt(nil, old, nil); !fault.Is(err, fault.DecryptFailed) {
		t.Errorf("version below the minimum: got %v, want decrypt_failed", err)
	}
}

// TestDecrypterChecksTheKey refuses keys of other types and, at every
// Decrypt, disabled keys.
func TestDecrypterChecksTheKey(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "k", device.SM2)
	mustCreate(t, s, "acme", "aes", device.SM4)
	_, err := s.Decrypter(ctx, "acme", "aes")
	wantCode(t, "sm4 key", err, fault.KeyTypeMismatch)
	_, err = s.Decrypter(ctx, "acme", "absent")
	wantCode(t, "absent key", err, fault.KeyNotFound)
	dec, err := s.Decrypter(ctx, "acme", "k")
	if err != nil {
		t.Fatal(err)
	}
	ct, err := sm2.EncryptASN1(rand.Reader, dec.Public().(*ecdsa.PublicKey), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Disable(ctx, "acme", "k"); err != nil {
		t.Fatal(err)
	}
	_, err = dec.Decrypt(nil, ct, nil)
	wantCode(t, "disabled key", err, fault.KeyDisabled)
}
