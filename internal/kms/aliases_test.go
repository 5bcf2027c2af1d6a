package kms

import (
	"fmt"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

func TestAliases(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "blue", device.SM4)
	mustCreate(t, s, "acme", "green", device.SM4)
	a, err := s.CreateAlias(ctx, "acme", "alias:prod", "blue")
	if err != nil || a.Name != "alias:prod" || a.Target != "blue" {
		t.Fatalf("CreateAlias = %+v, %v", a, err)
	}
	ct := mustEncrypt(t, s, "acme", "alias:prod", EncryptRequest{Plaintext: []byte("p")})
	if pt, err := s.Decrypt(ctx, "acme", "blue", DecryptRequest{Ciphertext: ct}); err != nil || string(pt) != "p" {
		t.Fatalf("alias did not encrypt with its target: %q, %v", pt, err)
	}
	if ki, err := s.Get(ctx, "acme", "alias:prod"); err != nil || ki.Name != "blue" {
		t.Fatalf("Get through alias = %+v, %v", ki, err)
	}
	if ki, err := s.Rotate(ctx, "acme", "alias:prod"); err != nil || ki.Name != "blue" || ki.LatestVersion != 2 {
		t.Fatalf("Rotate through alias = %+v, %v", ki, err)
	}

	if a, err = s.UpdateAlias(ctx, "acme", "alias:prod", "green"); err != nil || a.Target != "green" {
		t.Fatalf("UpdateAlias = %+v, %v", a, err)
	}
	ct = mustEncrypt(t, s, "acme", "alias:prod", EncryptRequest{Plaintext: []byte("q")})
	if pt, err := s.Decrypt(ctx, "acme", "green", DecryptRequest{Ciphertext: ct}); err != nil || string(pt) != "q" {
		t.Fatalf("re-pointed alias still uses the old key: %q, %v", pt, err)
	}
	_, err = s.Decrypt(ctx, "acme", "blue", DecryptRequest{Ciphertext: ct})
	wantCode(t, "old target", err, fault.DecryptFailed)

	for _, tc := range []struct {
		name string
		err  error
		code fault.Code
	}{
		{"duplicate", second(s.CreateAlias(ctx, "acme", "alias:prod", "blue")), fault.AlreadyExists},
		{"missing target", second(s.CreateAlias(ctx, "acme", "alias:x", "nope")), fault.KeyNotFound},
		{"alias to alias", second(s.CreateAlias(ctx, "acme", "alias:x", "alias:prod")), fault.InvalidArgument},
		{"no prefix", second(s.CreateAlias(ctx, "acme", "x", "blue")), fault.InvalidArgument},
		{"bad name", second(s.CreateAlias(ctx, "acme", "alias:a b", "blue")), fault.InvalidArgument},
		{"update missing", second(s.UpdateAlias(ctx, "acme", "alias:none", "blue")), fault.AliasNotFound},
		{"delete missing", s.DeleteAlias(ctx, "acme", "alias:none"), fault.AliasNotFound},
		{"use missing", second(s.Encrypt(ctx, "acme", "alias:none", EncryptRequest{})), fault.KeyNotFound},
		{"use invalid", second(s.Encrypt(ctx, "acme", "alias:a b", EncryptRequest{})), fault.KeyNotFound},
		{"other tenant", second(s.Encrypt(ctx, "other", "alias:prod", EncryptRequest{})), fault.KeyNotFound},
	} {
		wantCode(t, tc.name, tc.err, tc.code)
	}

	if err := s.DeleteAlias(ctx, "acme", "alias:prod"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Encrypt(ctx, "acme", "alias:prod", EncryptRequest{Plaintext: []byte("p")})
	wantCode(t, "deleted alias", err, fault.KeyNotFound)
	if _, err := s.Get(ctx, "acme", "green"); err != nil {
		t.Fatalf("deleting the alias touched the key: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestListAliases(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "k", device.SM4)
	for i := range 5 {
		if _, err := s.CreateAlias(ctx, "acme", fmt.Sprintf("alias:a%d", i), "k"); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	after := ""
	for range 10 {
		page, err := s.ListAliases(ctx, "acme", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Aliases {
			names = append(names, a.Name)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if fmt.Sprint(names) != "[alias:a0 alias:a1 alias:a2 alias:a3 alias:a4]" {
		t.Fatalf("listed %v", names)
	}
	_, err := s.ListAliases(ctx, "acme", "", MaxListLimit+1)
	wantCode(t, "limit", err, fault.InvalidArgument)
	_, err = s.ListAliases(ctx, "acme", "alias:a b", 0)
	wantCode(t, "cursor", err, fault.InvalidArgument)
}
