package kms

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

func TestCiphertextFormat(t *testing.T) {
	for _, tc := range []struct {
		version int
		payload []byte
		want    string
	}{
		{1, []byte{0xfb, 0xff}, "mima:v1:+/8="},
		{42, []byte("abc"), "mima:v42:YWJj"},
		{2147483647, []byte("a"), "mima:v2147483647:YQ=="},
	} {
		got := formatCiphertext(tc.version, tc.payload)
		if got != tc.want {
			t.Errorf("format(%d, %q) = %q, want %q", tc.version, tc.payload, got, tc.want)
		}
		v, p, ok := parseCiphertext(got)
		if !ok || v != tc.version || !bytes.Equal(p, tc.payload) {
			t.Errorf("parse(%q) = %d %q %v", got, v, p, ok)
		}
	}
	long := bytes.Repeat([]byte{1, 2, 3, 4, 5}, 1000) // spans several encoding chunks
	if v, p, ok := parseCiphertext(formatCiphertext(7, long)); !ok || v != 7 || !bytes.Equal(p, long) {
		t.Fatal("long payload does not round-trip")
	}
}

func TestParseCiphertextRejects(t *testing.T) {
	for _, s := range []string{
		"", "mima", "mima:v", "mima:v1", "mima:v1:", "vault:v1:YWJj", "MIMA:v1:YWJj", "mima:V1:YWJj",
		"mima:v0:YWJj", "mima:v01:YWJj", "mima:v-1:YWJj", "mima:v+1:YWJj", "mima:v1a:YWJj", "mima:v 1:YWJj",
		"mima:v2147483648:YWJj", "mima:v99999999999:YWJj", "mima:v1::YWJj",
		"mima:v1:YWJ", "mima:v1:YQ", "mima:v1:YR==", "mima:v1:YWJj\n", "mima:v1:YW\nJj", "mima:v1:YW\r\nJj",
		"mima:v1: YWJj", "mima:v1:YWJj ", "mima:v1:-_8=", "mima:v1:====", "mima:v1:YWJj====", "mima:v1:YQ==YWJj",
	} {
		if v, p, ok := parseCiphertext(s); ok {
			t.Errorf("parse(%q) accepted: %d %x", s, v, p)
		}
	}
}

// FuzzParseCiphertext checks that the parser accepts exactly the canonical
// strings formatCiphertext makes.
func FuzzParseCiphertext(f *testing.F) {
	for _, s := range []string{"mima:v1:YWJj", "mima:v12:+/8=", "mima:v1:YW\nJj", "mima:v0:AA==", "mima:v2147483648:AA==", "mima:v1:YR=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, p, ok := parseCiphertext(s)
		if !ok {
			return
		}
		if v < 1 || len(p) == 0 {
			t.Fatalf("parse(%q) = %d, %d bytes", s, v, len(p))
		}
		if again := formatCiphertext(v, p); again != s {
			t.Fatalf("parse(%q) accepted a non-canonical form of %q", s, again)
		}
	})
}

// FuzzDecrypt feeds arbitrary strings to Decrypt: it must answer
// decrypt_failed (or, for a well-formed old version, the version code)
// and never panic.
func FuzzDecrypt(f *testing.F) {
	s, _, _ := newTestService(f)
	mustCreate(f, s, "acme", "sym", device.SM4)
	mustCreate(f, s, "acme", "asym", device.SM2)
	if _, err := s.Rotate(ctx, "acme", "sym"); err != nil {
		f.Fatal(err)
	}
	if _, err := s.SetMinVersions(ctx, "acme", "sym", MinVersions{Decryption: 2, Encryption: 2}); err != nil {
		f.Fatal(err)
	}
	for _, key := range []string{"sym", "asym"} {
		ct, err := s.Encrypt(ctx, "acme", key, EncryptRequest{Plaintext: []byte("seed")})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ct, key == "sym")
		f.Add(strings.Replace(ct, ":v", ":v1", 1), key == "sym")
	}
	f.Add("mima:v1:MAA=", false)
	f.Fuzz(func(t *testing.T, ct string, sym bool) {
		key := "asym"
		if sym {
			key = "sym"
		}
		pt, err := s.Decrypt(ctx, "acme", key, DecryptRequest{Ciphertext: ct})
		switch {
		case err == nil:
			if string(pt) != "seed" {
				t.Fatalf("forged ciphertext %q decrypted to %q", ct, pt)
			}
		case fault.Is(err, fault.DecryptFailed) || fault.Is(err, fault.KeyVersionTooOld):
		default:
			t.Fatalf("Decrypt(%q): %v", ct, err)
		}
	})
}
