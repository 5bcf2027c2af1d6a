package kms

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
)

// TestDataKeyLocalInterop: a data key used locally with SM4-GCM in the
// documented layout (nonce 12 || ciphertext || tag 16) interoperates with
// the service both ways. The wrapped data key unwraps through Decrypt;
// imported as a version of a key, the service decrypts what was sealed
// locally and written as "mima:v<N>:<base64>", and what the service
// encrypts opens locally.
func TestDataKeyLocalInterop(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "kek", device.SM4)
	mustCreate(t, s, "acme", "app", device.SM4)
	aad := []byte("bucket-1")
	dk, err := s.DataKey(ctx, "acme", "kek", DataKeyRequest{Kind: DataKeySM4, WithPlaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	key, err := s.Decrypt(ctx, "acme", "kek", DecryptRequest{Ciphertext: dk.Wrapped})
	if err != nil || !bytes.Equal(key, dk.Plaintext) {
		t.Fatalf("the wrapped data key unwraps to %x, %v", key, err)
	}
	data := []byte("bulk data sealed next to its wrapped key")
	sealed := localSeal(t, dk.Plaintext, data, aad)
	if pt, err := localOpen(t, key, sealed, aad); err != nil || !bytes.Equal(pt, data) {
		t.Fatalf("local open with the unwrapped key: %q, %v", pt, err)
	}

	p := mustParams(t, s, "acme", "app")
	ki, err := s.Import(ctx, "acme", "app", ImportRequest{Token: p.Token, WrappedMaterial: wrapRaw(t, p, dk.Plaintext)})
	if err != nil {
		t.Fatal(err)
	}
	v := ki.LatestVersion
	local := "mima:v" + strconv.Itoa(v) + ":" + base64.StdEncoding.EncodeToString(sealed)
	if pt, err := s.Decrypt(ctx, "acme", "app", DecryptRequest{Ciphertext: local, AAD: aad}); err != nil || !bytes.Equal(pt, data) {
		t.Fatalf("the service decrypts the local ciphertext: %q, %v", pt, err)
	}
	ct := mustEncrypt(t, s, "acme", "app", EncryptRequest{Plaintext: data, AAD: aad})
	prefix := "mima:v" + strconv.Itoa(v) + ":"
	if !strings.HasPrefix(ct, prefix) {
		t.Fatalf("ciphertext %q is not of version %d", ct, v)
	}
	payload, err := base64.StdEncoding.DecodeString(ct[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	if len(payload) != 12+len(data)+16 {
		t.Fatalf("payload of %d bytes, want nonce || %d bytes || tag", len(payload), len(data))
	}
	if pt, err := localOpen(t, dk.Plaintext, payload, aad); err != nil || !bytes.Equal(pt, data) {
		t.Fatalf("local open of the service's ciphertext: %q, %v", pt, err)
	}
	if _, err := localOpen(t, dk.Plaintext, payload, nil); err == nil {
		t.Fatal("the AAD is not bound")
	}
}
