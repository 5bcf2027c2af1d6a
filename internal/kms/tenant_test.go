package kms

import (
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

func TestTenantIsolation(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "alpha", "shared-name", device.SM4)
	mustCreate(t, s, "beta", "shared-name", device.SM4)
	mustCreate(t, s, "alpha", "alpha-only", device.SM2)
	ctA := mustEncrypt(t, s, "alpha", "shared-name", EncryptRequest{Plaintext: []byte("for alpha")})
	if pt, err := s.Decrypt(ctx, "alpha", "shared-name", DecryptRequest{Ciphertext: ctA}); err != nil || string(pt) != "for alpha" {
		t.Fatalf("alpha decrypt: %q, %v", pt, err)
	}
	_, err := s.Decrypt(ctx, "beta", "shared-name", DecryptRequest{Ciphertext: ctA})
	wantCode(t, "beta decrypts alpha's ciphertext", err, fault.DecryptFailed)

	_, absent := s.Encrypt(ctx, "beta", "never-existed", EncryptRequest{Plaintext: []byte("p")})
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"encrypt", second(s.Encrypt(ctx, "beta", "alpha-only", EncryptRequest{Plaintext: []byte("p")}))},
		{"sign", second(s.Sign(ctx, "beta", "alpha-only", SignRequest{Input: []byte("m")}))},
		{"public key", second(s.PublicKey(ctx, "beta", "alpha-only", 0))},
		{"get", second(s.Get(ctx, "beta", "alpha-only"))},
		{"rotate", second(s.Rotate(ctx, "beta", "alpha-only"))},
		{"alias to it", second(s.CreateAlias(ctx, "beta", "alias:steal", "alpha-only"))},
	} {
		wantCode(t, tc.name, tc.err, fault.KeyNotFound)
	}
	if got, want := second(s.Encrypt(ctx, "beta", "alpha-only", EncryptRequest{})).Error(), strings.Replace(absent.Error(), "never-existed", "alpha-only", 1); got != want {
		t.Errorf("another tenant's key reads %q; an absent key reads %q", got, want)
	}
	page, err := s.List(ctx, "beta", ListOptions{})
	if err != nil || len(page.Keys) != 1 {
		t.Fatalf("beta lists %+v, %v", page, err)
	}
	_, err = s.Encrypt(ctx, "Bad/Tenant", "k", EncryptRequest{})
	wantCode(t, "invalid tenant", err, fault.InvalidArgument)
}
