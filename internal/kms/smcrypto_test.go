package kms

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
)

// jsDir holds sm2.js and its pinned npm dependencies.
const jsDir = "testdata/js"

// smCrypto runs "node sm2.js args..." with npm sm-crypto and returns its
// output, skipping the test when node or sm-crypto is not installed.
func smCrypto(t *testing.T, args ...string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; run scripts/test, which installs Node.js and sm-crypto")
	}
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "sm-crypto", "package.json")); err != nil {
		t.Skip("sm-crypto is not installed; run scripts/test, which runs: npm ci --prefix internal/kms/testdata/js")
	}
	cmd := exec.Command(node, append([]string{"sm2.js"}, args...)...)
	cmd.Dir = jsDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node sm2.js %s: %v: %s", args[0], err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// pubHex is an SM2 public key as sm-crypto writes it: 04 || x || y in hex.
func pubHex(pub *ecdsa.PublicKey) string { return hex.EncodeToString(uncompressed(pub)) }

// TestSMCryptoVerifiesSignatures: sm-crypto verifies Sign's signatures
// (DER, SM3 with Z_A for the default user id).
func TestSMCryptoVerifiesSignatures(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "signer", device.SM2)
	pk, err := s.PublicKey(ctx, "acme", "signer", 0)
	if err != nil {
		t.Fatal(err)
	}
	pub := pubHex(sm2Public(t, pk.Key))
	for _, tc := range []struct {
		name          string
		signed, shown []byte
		want          string
	}{
		{"text", []byte("signed by mima"), []byte("signed by mima"), "true"},
		{"binary", randomBytes(t, 1000), nil, "true"},
		{"other message", []byte("signed by mima"), []byte("signed by mimA"), "false"},
	} {
		if tc.shown == nil {
			tc.shown = tc.signed
		}
		sig, err := s.Sign(ctx, "acme", "signer", SignRequest{Input: tc.signed})
		if err != nil {
			t.Fatal(err)
		}
		if got := smCrypto(t, "verify", hex.EncodeToString(tc.shown), hex.EncodeToString(sig.Signature), pub); got != tc.want {
			t.Errorf("%s: sm-crypto says %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestSMCryptoDecryptsExportedKey: the private key of an exportable sm2
// key, exported to a Go-held key and unwrapped, lets sm-crypto decrypt the
// service's C1C3C2 ciphertexts.
func TestSMCryptoDecryptsExportedKey(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "k", device.SM2, exportable)
	receiver := newSM2Key(t)
	ek, err := s.Export(ctx, "acme", "k", ExportRequest{PublicKeyPEM: pemOf(t, &receiver.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	priv := hex.EncodeToString(unwrapExport(t, receiver, ek))
	for _, msg := range [][]byte{[]byte("x"), []byte("for sm-crypto's eyes"), randomBytes(t, 500)} {
		ct := mustEncrypt(t, s, "acme", "k", EncryptRequest{Plaintext: msg, SM2Format: SM2C1C3C2})
		_, payload := payloadOf(t, ct)
		if payload[0] != 0x04 {
			t.Fatalf("C1 is not uncompressed: % x", payload[:1])
		}
		if got := smCrypto(t, "decrypt", hex.EncodeToString(payload[1:]), priv); got != hex.EncodeToString(msg) {
			t.Fatalf("sm-crypto decrypts to %s, want %x", got, msg)
		}
	}
}

// TestSMCryptoKeyImported: a key pair made by sm-crypto, enveloped by
// sm-crypto (GB/T 35276) for the import wrapping key, becomes a version
// that decrypts sm-crypto's C1C3C2 ciphertexts and verifies its
// signatures, and whose signatures sm-crypto verifies.
func TestSMCryptoKeyImported(t *testing.T) {
	s, st, _ := newTestService(t)
	mustCreate(t, s, "acme", "byok", device.SM2)
	var pair struct{ PrivateKey, PublicKey string }
	if err := json.Unmarshal([]byte(smCrypto(t, "keygen")), &pair); err != nil {
		t.Fatal(err)
	}
	p := mustParams(t, s, "acme", "byok")
	env, err := hex.DecodeString(smCrypto(t, "envelope", pair.PrivateKey, pubHex(wrappingKey(t, p))))
	if err != nil {
		t.Fatal(err)
	}
	ki, err := s.Import(ctx, "acme", "byok", ImportRequest{Token: p.Token, WrappedMaterial: env})
	if err != nil {
		t.Fatal(err)
	}
	if ki.LatestVersion != 2 || hex.EncodeToString(rawMaterial(t, st, "acme", "byok", 2)) != pair.PrivateKey {
		t.Fatalf("imported %+v, material differs from sm-crypto's key", ki)
	}
	pk, err := s.PublicKey(ctx, "acme", "byok", 2)
	if err != nil || pubHex(sm2Public(t, pk.Key)) != pair.PublicKey {
		t.Fatalf("public key of version 2 is not sm-crypto's: %v", err)
	}

	msg := []byte("from sm-crypto to mima")
	ct, err := hex.DecodeString("04" + smCrypto(t, "encrypt", hex.EncodeToString(msg), pair.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := s.Decrypt(ctx, "acme", "byok", DecryptRequest{Ciphertext: formatCiphertext(2, ct)}); err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("decrypting sm-crypto's ciphertext: %q, %v", pt, err)
	}
	sig, err := hex.DecodeString(smCrypto(t, "sign", hex.EncodeToString(msg), pair.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		input []byte
		want  bool
	}{{msg, true}, {[]byte("another message"), false}} {
		if got, err := s.Verify(ctx, "acme", "byok", VerifyRequest{Input: tc.input, Signature: sig}); err != nil || got.Valid != tc.want {
			t.Fatalf("verifying sm-crypto's signature over %q: %v, %v", tc.input, got.Valid, err)
		}
	}
	ours, err := s.Sign(ctx, "acme", "byok", SignRequest{Input: msg})
	if err != nil {
		t.Fatal(err)
	}
	if got := smCrypto(t, "verify", hex.EncodeToString(msg), hex.EncodeToString(ours.Signature), pair.PublicKey); got != "true" {
		t.Fatalf("sm-crypto does not verify the imported version's signature: %s", got)
	}
}
