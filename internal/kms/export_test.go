package kms

import (
	"bytes"
	"cmp"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

func exportable(r *CreateRequest) { r.Exportable = true }

// pemOf returns the PEM SubjectPublicKeyInfo of an SM2 public key.
func pemOf(t testing.TB, pub *ecdsa.PublicKey) string {
	t.Helper()
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// unwrapExport opens an exported key with the receiver's private key.
func unwrapExport(t *testing.T, receiver *sm2.PrivateKey, ek ExportedKey) []byte {
	t.Helper()
	if ek.Type == device.SM2 {
		priv, err := sm2.ParseEnvelopedPrivateKey(receiver, ek.Wrapped)
		if err != nil {
			t.Fatal(err)
		}
		return priv.D.FillBytes(make([]byte, 32))
	}
	raw, err := sm2.Decrypt(receiver, ek.Wrapped)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestExport(t *testing.T) {
	receiver := newSM2Key(t)
	for _, tc := range []struct {
		typ    device.KeyType
		format SM2Format
		first  byte // of the wrapped bytes
	}{
		{device.SM4, "", 0x30},
		{device.SM4, SM2C1C3C2, 0x04},
		{device.HMACSM3, SM2ASN1, 0x30},
		{device.SM2, "", 0x30},
	} {
		t.Run(string(tc.typ)+"/"+string(tc.format), func(t *testing.T) {
			s, st, _ := newTestService(t)
			mustCreate(t, s, "acme", "k", tc.typ, exportable)
			if _, err := s.Rotate(ctx, "acme", "k"); err != nil {
				t.Fatal(err)
			}
			for _, v := range []int{1, 2, 0} {
				ek, err := s.Export(ctx, "acme", "k", ExportRequest{PublicKeyPEM: pemOf(t, &receiver.PublicKey), Version: v, SM2Format: tc.format})
				if err != nil {
					t.Fatal(err)
				}
				want := v
				if v == 0 {
					want = 2
				}
				if ek.Name != "k" || ek.Type != tc.typ || ek.Version != want || ek.Wrapped[0] != tc.first {
					t.Fatalf("Export version %d = %+v", v, ek)
				}
				if got := unwrapExport(t, receiver, ek); !bytes.Equal(got, rawMaterial(t, st, "acme", "k", want)) {
					t.Fatalf("version %d unwraps to other material", want)
				}
			}
		})
	}
}

// TestExportImportBetweenServices moves a key version from one mima to
// another: Export under the wrapping key of the other's ImportParams, then
// Import. The other decrypts what the first encrypted.
func TestExportImportBetweenServices(t *testing.T) {
	for _, typ := range []device.KeyType{device.SM4, device.SM2, device.HMACSM3} {
		t.Run(string(typ), func(t *testing.T) {
			src, _, _ := newTestService(t)
			dst, dstStore, _ := newTestService(t)
			mustCreate(t, src, "acme", "k", typ, exportable)
			mustCreate(t, dst, "beta", "k", typ)
			p := mustParams(t, dst, "beta", "k")
			ek, err := src.Export(ctx, "acme", "k", ExportRequest{PublicKeyPEM: p.PublicKey})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dst.Import(ctx, "beta", "k", ImportRequest{Token: p.Token, WrappedMaterial: ek.Wrapped}); err != nil {
				t.Fatal(err)
			}
			provesMaterial(t, src, "acme", "k", typ, 1, rawMaterial(t, dstStore, "beta", "k", 2))
		})
	}
}

func TestExportRejects(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "open", device.SM4, exportable)
	mustCreate(t, s, "acme", "sm2", device.SM2, exportable)
	mustCreate(t, s, "acme", "closed", device.SM4)
	mustCreate(t, s, "acme", "off", device.SM4, exportable)
	mustCreate(t, s, "acme", "doomed", device.SM4, exportable)
	if _, err := s.Disable(ctx, "acme", "off"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ScheduleDeletion(ctx, "acme", "doomed", 7); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.Rotate(ctx, "acme", "open"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SetMinVersions(ctx, "acme", "open", MinVersions{Decryption: 2}); err != nil {
		t.Fatal(err)
	}
	good := pemOf(t, &newSM2Key(t).PublicKey)
	spki := func(pub any) string {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(good))
	for _, tc := range []struct {
		name   string
		tenant string // "" for acme
		key    string
		req    ExportRequest
		code   fault.Code
		msg    string
	}{
		{"not exportable", "", "closed", ExportRequest{PublicKeyPEM: good}, fault.KeyNotExportable, "exportable"},
		{"disabled", "", "off", ExportRequest{PublicKeyPEM: good}, fault.KeyDisabled, "disabled"},
		{"pending deletion", "", "doomed", ExportRequest{PublicKeyPEM: good}, fault.KeyPendingDeletion, "pending"},
		{"absent", "", "nope", ExportRequest{PublicKeyPEM: good}, fault.KeyNotFound, "not found"},
		{"no such version", "", "open", ExportRequest{PublicKeyPEM: good, Version: 4}, fault.InvalidArgument, "no version 4"},
		{"negative version", "", "open", ExportRequest{PublicKeyPEM: good, Version: -1}, fault.InvalidArgument, "no version -1"},
		{"below minimum", "", "open", ExportRequest{PublicKeyPEM: good, Version: 1}, fault.KeyVersionTooOld, "minimum"},
		{"rsa key", "", "open", ExportRequest{PublicKeyPEM: spki(&rsaKey.PublicKey)}, fault.InvalidArgument, "not an RSA key"},
		{"p-256 key", "", "open", ExportRequest{PublicKeyPEM: spki(&p256.PublicKey)}, fault.InvalidArgument, "not an ECDSA key on P-256"},
		{"ed25519 key", "", "open", ExportRequest{PublicKeyPEM: spki(edPub)}, fault.InvalidArgument, "not an Ed25519 key"},
		{"x25519 key", "", "open", ExportRequest{PublicKeyPEM: spki(x25519.PublicKey())}, fault.InvalidArgument, "not a key of another type"},
		{"no pem", "", "open", ExportRequest{PublicKeyPEM: "MFkwEwYHKoZIzj0CAQ"}, fault.InvalidArgument, "PEM"},
		{"empty", "", "open", ExportRequest{}, fault.InvalidArgument, "PEM"},
		{"certificate block", "", "open", ExportRequest{PublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes}))}, fault.InvalidArgument, "PEM"},
		{"two blocks", "", "open", ExportRequest{PublicKeyPEM: good + good}, fault.InvalidArgument, "single PEM block"},
		{"bad spki", "", "open", ExportRequest{PublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{0x30, 0}}))}, fault.InvalidArgument, "SubjectPublicKeyInfo"},
		{"unknown format", "", "open", ExportRequest{PublicKeyPEM: good, SM2Format: "c1c2c3"}, fault.InvalidArgument, "unknown SM2 ciphertext format"},
		{"format for sm2 key", "", "sm2", ExportRequest{PublicKeyPEM: good, SM2Format: SM2C1C3C2}, fault.InvalidArgument, "enveloped"},
		{"invalid tenant", "a/b", "open", ExportRequest{PublicKeyPEM: good}, fault.InvalidArgument, "tenant"},
	} {
		_, err := s.Export(ctx, cmp.Or(tc.tenant, "acme"), tc.key, tc.req)
		wantCode(t, tc.name, err, tc.code)
		if err != nil && !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: message %q does not say %q", tc.name, err, tc.msg)
		}
	}
	if _, err := s.Export(ctx, "acme", "open", ExportRequest{PublicKeyPEM: good + "\n \n"}); err != nil {
		t.Errorf("trailing white space after the PEM block: %v", err)
	}
	s.Sealed()
	_, err = s.Export(ctx, "acme", "open", ExportRequest{PublicKeyPEM: good})
	wantCode(t, "sealed", err, fault.Sealed)
}
