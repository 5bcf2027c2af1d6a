package kms

import (
	"bytes"
	"crypto/cipher"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm4"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

func TestSM4DataKeyLocalUse(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "kek", device.SM4)
	dk, err := s.DataKey(ctx, "acme", "kek", DataKeyRequest{Kind: DataKeySM4, WithPlaintext: true, AAD: []byte("bucket-1")})
	if err != nil || len(dk.Plaintext) != 16 || dk.PublicKey != "" {
		t.Fatalf("DataKey = %+v, %v", dk, err)
	}
	// Local use as documented: nonce (12) || SM4-GCM ciphertext || tag.
	block, err := sm4.NewCipher(dk.Plaintext)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 12)
	if _, err := s.rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	sealed := gcm.Seal(bytes.Clone(nonce), nonce, []byte("bulk data"), nil)

	// Later: unwrap with Decrypt and open the local ciphertext.
	key, err := s.Decrypt(ctx, "acme", "kek", DecryptRequest{Ciphertext: dk.Wrapped, AAD: []byte("bucket-1")})
	if err != nil || !bytes.Equal(key, dk.Plaintext) {
		t.Fatalf("unwrap = %x, %v", key, err)
	}
	block2, _ := sm4.NewCipher(key)
	gcm2, _ := cipher.NewGCM(block2)
	if pt, err := gcm2.Open(nil, sealed[:12], sealed[12:], nil); err != nil || string(pt) != "bulk data" {
		t.Fatalf("local open: %q, %v", pt, err)
	}

	wrappedOnly, err := s.DataKey(ctx, "acme", "kek", DataKeyRequest{Kind: DataKeySM4})
	if err != nil || wrappedOnly.Plaintext != nil || wrappedOnly.Wrapped == "" {
		t.Fatalf("wrapped-only DataKey = %+v, %v", wrappedOnly, err)
	}
	if key2, _ := s.Decrypt(ctx, "acme", "kek", DecryptRequest{Ciphertext: wrappedOnly.Wrapped}); len(key2) != 16 || bytes.Equal(key2, dk.Plaintext) {
		t.Fatalf("second data key %x repeats or is malformed", key2)
	}
}

func TestSM2DataKeyPair(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "kek", device.SM2)
	dk, err := s.DataKey(ctx, "acme", "kek", DataKeyRequest{Kind: DataKeySM2, WithPlaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := smx509.ParsePKCS8PrivateKey(dk.Plaintext)
	if err != nil {
		t.Fatal(err)
	}
	sk := priv.(*sm2.PrivateKey)
	pub := parsePublicKeyPEM(t, dk.PublicKey)
	if !sk.PublicKey.Equal(pub) {
		t.Fatal("PublicKey does not match the private key")
	}
	unwrapped, err := s.Decrypt(ctx, "acme", "kek", DecryptRequest{Ciphertext: dk.Wrapped})
	if err != nil || !bytes.Equal(unwrapped, dk.Plaintext) {
		t.Fatalf("unwrap = %v", err)
	}
	sig, err := sk.Sign(s.rand, []byte("m"), sm2.DefaultSM2SignerOpts)
	if err != nil || !sm2.VerifyASN1WithSM2(pub, nil, []byte("m"), sig) {
		t.Fatalf("the data key pair does not sign and verify: %v", err)
	}

	wrappedOnly, err := s.DataKey(ctx, "acme", "kek", DataKeyRequest{Kind: DataKeySM2})
	if err != nil || wrappedOnly.Plaintext != nil || wrappedOnly.PublicKey == "" {
		t.Fatalf("wrapped-only pair = %+v, %v", wrappedOnly, err)
	}
	_, err = s.DataKey(ctx, "acme", "kek", DataKeyRequest{Kind: "aes"})
	wantCode(t, "unknown kind", err, fault.InvalidArgument)
	mustCreate(t, s, "acme", "mac", device.HMACSM3)
	_, err = s.DataKey(ctx, "acme", "mac", DataKeyRequest{Kind: DataKeySM4})
	wantCode(t, "hmac wrapping key", err, fault.KeyTypeMismatch)
}
