package kms

import (
	"bytes"
	"crypto/cipher"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm4"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

var ciphertextRE = regexp.MustCompile(`^mima:v[1-9][0-9]*:[A-Za-z0-9+/]+={0,2}$`)

func TestEncryptDecryptRoundTrip(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "sym", device.SM4)
	mustCreate(t, s, "acme", "asym", device.SM2)
	for _, tc := range []struct {
		name, key string
		req       EncryptRequest
		first     byte // first payload byte, 0 when random
	}{
		{"sm4", "sym", EncryptRequest{Plaintext: []byte("hello")}, 0},
		{"sm4 empty", "sym", EncryptRequest{Plaintext: nil}, 0},
		{"sm4 aad", "sym", EncryptRequest{Plaintext: []byte("hello"), AAD: []byte("order-1")}, 0},
		{"sm4 large", "sym", EncryptRequest{Plaintext: bytes.Repeat([]byte("x"), 100_000)}, 0},
		{"sm2 asn1", "asym", EncryptRequest{Plaintext: []byte("hello")}, 0x30},
		{"sm2 asn1 explicit", "asym", EncryptRequest{Plaintext: []byte("hello"), SM2Format: SM2ASN1}, 0x30},
		{"sm2 c1c3c2", "asym", EncryptRequest{Plaintext: []byte("hello"), SM2Format: SM2C1C3C2}, 0x04},
	} {
		ct := mustEncrypt(t, s, "acme", tc.key, tc.req)
		if !ciphertextRE.MatchString(ct) {
			t.Errorf("%s: malformed ciphertext %.40q", tc.name, ct)
		}
		_, payload, ok := parseCiphertext(ct)
		if !ok || tc.first != 0 && payload[0] != tc.first {
			t.Errorf("%s: payload starts %x, want %x", tc.name, payload[:1], tc.first)
		}
		pt, err := s.Decrypt(ctx, "acme", tc.key, DecryptRequest{Ciphertext: ct, AAD: tc.req.AAD})
		if err != nil || !bytes.Equal(pt, tc.req.Plaintext) {
			t.Errorf("%s: Decrypt = %.20q, %v", tc.name, pt, err)
		}
	}
}

// TestCiphertextLayout opens an SM4 ciphertext with the raw key and plain
// SM4-GCM, as documented: mima:v<N>:base64(nonce || ciphertext || tag).
func TestCiphertextLayout(t *testing.T) {
	s, st, _ := newTestService(t)
	mustCreate(t, s, "acme", "k", device.SM4)
	ct := mustEncrypt(t, s, "acme", "k", EncryptRequest{Plaintext: []byte("layout"), AAD: []byte("aad")})
	b64, ok := strings.CutPrefix(ct, "mima:v1:")
	if !ok {
		t.Fatalf("ciphertext %q", ct)
	}
	payload, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(payload) != 12+len("layout")+16 {
		t.Fatalf("payload of %d bytes: %v", len(payload), err)
	}
	block, err := sm4.NewCipher(rawMaterial(t, st, "acme", "k", 1))
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := gcm.Open(nil, payload[:12], payload[12:], []byte("aad"))
	if err != nil || string(pt) != "layout" {
		t.Fatalf("standard SM4-GCM open: %q, %v", pt, err)
	}
}

func TestDecryptFailuresRevealNothing(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "k", device.SM4)
	mustCreate(t, s, "acme", "other", device.SM4)
	mustCreate(t, s, "acme", "asym", device.SM2)
	ct := mustEncrypt(t, s, "acme", "k", EncryptRequest{Plaintext: []byte("secret"), AAD: []byte("a")})
	foreign := mustEncrypt(t, s, "acme", "other", EncryptRequest{Plaintext: []byte("secret"), AAD: []byte("a")})
	sm2ct := mustEncrypt(t, s, "acme", "asym", EncryptRequest{Plaintext: []byte("secret")})
	flipped := []byte(ct)
	flipped[len(flipped)-4] ^= 0x01
	for _, tc := range []struct {
		name, key, ct string
		aad           []byte
	}{
		{"wrong aad", "k", ct, []byte("b")},
		{"missing aad", "k", ct, nil},
		{"tampered", "k", string(flipped), []byte("a")},
		{"foreign key", "k", foreign, []byte("a")},
		{"sm2 ciphertext under sm4", "k", sm2ct, nil},
		{"sm4 ciphertext under sm2", "asym", ct, nil},
		{"future version", "k", strings.Replace(ct, "mima:v1:", "mima:v2:", 1), []byte("a")},
		{"no prefix", "k", strings.TrimPrefix(ct, "mima:"), []byte("a")},
		{"garbage", "k", "not a ciphertext", nil},
		{"empty", "k", "", nil},
		{"truncated", "k", ct[:20], []byte("a")},
	} {
		_, err := s.Decrypt(ctx, "acme", tc.key, DecryptRequest{Ciphertext: tc.ct, AAD: tc.aad})
		wantCode(t, tc.name, err, fault.DecryptFailed)
		if err != nil && err.Error() != errDecrypt.Error() {
			t.Errorf("%s: error %q says more than %q", tc.name, err, errDecrypt)
		}
	}
}

func TestEncryptRejects(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "sym", device.SM4)
	mustCreate(t, s, "acme", "asym", device.SM2)
	mustCreate(t, s, "acme", "mac", device.HMACSM3)
	for _, tc := range []struct {
		name, key string
		req       EncryptRequest
		code      fault.Code
	}{
		{"hmac key", "mac", EncryptRequest{Plaintext: []byte("p")}, fault.KeyTypeMismatch},
		{"missing key", "nope", EncryptRequest{Plaintext: []byte("p")}, fault.KeyNotFound},
		{"invalid key name", "a b", EncryptRequest{Plaintext: []byte("p")}, fault.InvalidArgument},
		{"absent version", "sym", EncryptRequest{Plaintext: []byte("p"), Version: 2}, fault.InvalidArgument},
		{"negative version", "sym", EncryptRequest{Plaintext: []byte("p"), Version: -1}, fault.InvalidArgument},
		{"sm2 format on sm4", "sym", EncryptRequest{Plaintext: []byte("p"), SM2Format: SM2C1C3C2}, fault.InvalidArgument},
		{"unknown sm2 format", "asym", EncryptRequest{Plaintext: []byte("p"), SM2Format: "c1c2c3"}, fault.InvalidArgument},
		{"sm2 aad", "asym", EncryptRequest{Plaintext: []byte("p"), AAD: []byte("a")}, fault.InvalidArgument},
		{"sm2 empty", "asym", EncryptRequest{}, fault.InvalidArgument},
		{"derivation on plain key", "sym", EncryptRequest{Plaintext: []byte("p"), Derivation: &Derivation{DeviceID: "d"}}, fault.InvalidArgument},
	} {
		_, err := s.Encrypt(ctx, "acme", tc.key, tc.req)
		wantCode(t, tc.name, err, tc.code)
	}
	_, err := s.Decrypt(ctx, "acme", "mac", DecryptRequest{Ciphertext: "mima:v1:AAAA"})
	wantCode(t, "decrypt with hmac key", err, fault.KeyTypeMismatch)
}

func TestReEncrypt(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "old", device.SM4)
	mustCreate(t, s, "acme", "new", device.SM2)
	ct := mustEncrypt(t, s, "acme", "old", EncryptRequest{Plaintext: []byte("move me"), AAD: []byte("a")})
	if _, err := s.Rotate(ctx, "acme", "old"); err != nil {
		t.Fatal(err)
	}
	rewrapped, err := s.ReEncrypt(ctx, "acme", "old", "", ReEncryptRequest{Ciphertext: ct, AAD: []byte("a"), ToAAD: []byte("b")})
	if err != nil || !strings.HasPrefix(rewrapped, "mima:v2:") {
		t.Fatalf("ReEncrypt to the latest version = %q, %v", rewrapped, err)
	}
	if pt, err := s.Decrypt(ctx, "acme", "old", DecryptRequest{Ciphertext: rewrapped, AAD: []byte("b")}); err != nil || string(pt) != "move me" {
		t.Fatalf("decrypt rewrapped: %q, %v", pt, err)
	}
	_, err = s.ReEncrypt(ctx, "acme", "old", "new", ReEncryptRequest{Ciphertext: rewrapped, AAD: []byte("b"), ToAAD: []byte("b")})
	wantCode(t, "aad for an sm2 destination", err, fault.InvalidArgument)
	moved, err := s.ReEncrypt(ctx, "acme", "old", "new", ReEncryptRequest{Ciphertext: rewrapped, AAD: []byte("b"), SM2Format: SM2C1C3C2})
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := s.Decrypt(ctx, "acme", "new", DecryptRequest{Ciphertext: moved}); err != nil || string(pt) != "move me" {
		t.Fatalf("decrypt moved to sm2: %q, %v", pt, err)
	}
	_, err = s.ReEncrypt(ctx, "acme", "old", "new", ReEncryptRequest{Ciphertext: "mima:v1:AAAA"})
	wantCode(t, "garbled source", err, fault.DecryptFailed)
	_, err = s.ReEncrypt(ctx, "acme", "old", "nope", ReEncryptRequest{Ciphertext: ct, AAD: []byte("a")})
	wantCode(t, "missing destination", err, fault.KeyNotFound)
	_, err = s.ReEncrypt(ctx, "acme", "old", "old", ReEncryptRequest{Ciphertext: ct, AAD: []byte("wrong")})
	wantCode(t, "wrong source aad", err, fault.DecryptFailed)
}
