package sm9

import (
	"context"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm9"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/storage/inmem"
)

type env struct {
	s     *Service
	keys  *kms.Service
	clock *clocktest.Clock
}

// newEnv returns an unsealed KGC on an in-memory store, in tenant "acme",
// with a signature KGC "kgc" and an encryption KGC "ekgc".
func newEnv(t *testing.T) env {
	t.Helper()
	ctx := context.Background()
	dev := device.NewSoftware()
	c := clocktest.New(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	keys := kms.New(dev, kms.WithClock(c.Now), kms.WithBackupIterations(1))
	s := New(keys, dev.Random(), WithClock(c.Now))
	st := inmem.New()
	if err := keys.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := s.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	for name, typ := range map[string]device.KeyType{"kgc": device.SM9SignMaster, "ekgc": device.SM9EncMaster} {
		if _, err := keys.Create(ctx, "acme", kms.CreateRequest{Name: name, Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
	return env{s: s, keys: keys, clock: c}
}

func wantCode(t *testing.T, err error, code fault.Code) {
	t.Helper()
	if fault.CodeOf(err) != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
}

func TestHostedSignVerifyRevoke(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	id := "rtu-0042@field-7|2026-Q4"
	x, err := e.s.Extract(ctx, "acme", "kgc", ExtractRequest{ID: id, Deliver: Delivery{Hosted: true}})
	if err != nil {
		t.Fatal(err)
	}
	if x.Key != HostedName("kgc", id, device.SM9SignHID) || x.Envelope != nil || x.Sealed != nil {
		t.Fatalf("extracted %+v", x)
	}
	msg := []byte("telemetry")
	sig, err := e.s.Sign(ctx, "acme", "kgc", SignRequest{ID: id, Input: msg})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := e.s.Verify(ctx, "acme", "kgc", VerifyRequest{ID: id, Input: msg, Signature: sig}); err != nil || !v.Valid {
		t.Fatalf("Verify = %+v, %v", v, err)
	}
	if v, _ := e.s.Verify(ctx, "acme", "kgc", VerifyRequest{ID: id, Input: []byte("other"), Signature: sig}); v.Valid {
		t.Fatal("a signature of another message verifies")
	}
	if err := e.s.Revoke(ctx, "acme", "kgc", []string{id}); err != nil {
		t.Fatal(err)
	}
	if v, err := e.s.Verify(ctx, "acme", "kgc", VerifyRequest{ID: id, Input: msg, Signature: sig}); err != nil || v.Valid || v.Reason != fault.IdentityRevoked {
		t.Fatalf("Verify of a revoked identity = %+v, %v", v, err)
	}
	_, err = e.s.Sign(ctx, "acme", "kgc", SignRequest{ID: id, Input: msg})
	wantCode(t, err, fault.IdentityRevoked)
	_, err = e.s.Extract(ctx, "acme", "kgc", ExtractRequest{ID: id, Deliver: Delivery{Hosted: true}})
	wantCode(t, err, fault.IdentityRevoked)
}

func TestIdentityExpires(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	id := "ttu-1|2026-Q4"
	if _, err := e.s.Extract(ctx, "acme", "kgc", ExtractRequest{ID: id, Deliver: Delivery{Hosted: true}}); err != nil {
		t.Fatal(err)
	}
	sig, err := e.s.Sign(ctx, "acme", "kgc", SignRequest{ID: id, Input: []byte("m")})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	if v, err := e.s.Verify(ctx, "acme", "kgc", VerifyRequest{ID: id, Input: []byte("m"), Signature: sig}); err != nil || v.Valid || v.Reason != fault.IdentityExpired {
		t.Fatalf("Verify after the period = %+v, %v", v, err)
	}
	_, err = e.s.Sign(ctx, "acme", "kgc", SignRequest{ID: id, Input: []byte("m")})
	wantCode(t, err, fault.IdentityExpired)
	_, err = e.s.Extract(ctx, "acme", "kgc", ExtractRequest{ID: "ttu-2|2026-Q4", Deliver: Delivery{Hosted: true}})
	wantCode(t, err, fault.IdentityExpired)
	_, err = e.s.Extract(ctx, "acme", "kgc", ExtractRequest{ID: "ttu-2|2026-Q5", Deliver: Delivery{Hosted: true}})
	wantCode(t, err, fault.InvalidArgument)
}

func TestExpiry(t *testing.T) {
	for _, c := range []struct {
		id   string
		want time.Time
	}{
		{"a", time.Time{}},
		{"a|2026", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"a|2026-Q4", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"a|2026-Q1", time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)},
		{"a|2026-02", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"a|2026-02-28", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
	} {
		got, err := expiry(c.id, DefaultSeparator)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("expiry(%q) = %v, %v; want %v", c.id, got, err, c.want)
		}
	}
	for _, id := range []string{"a|", "a|26", "a|2026-Q0", "a|2026-13", "a|2026-02-30", "a|x"} {
		if _, err := expiry(id, DefaultSeparator); fault.CodeOf(err) != fault.InvalidArgument {
			t.Errorf("expiry(%q): %v, want invalid_argument", id, err)
		}
	}
}

// TestDeliveries opens each delivery the way a terminal does, with gmsm.
func TestDeliveries(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	terminal, err := sm2.GenerateKey(e.s.rand)
	if err != nil {
		t.Fatal(err)
	}
	der, err := smx509.MarshalPKIXPublicKey(&terminal.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	x, err := e.s.Extract(ctx, "acme", "kgc", ExtractRequest{ID: "cam-1", Deliver: Delivery{SM2PublicKey: pubPEM}})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := sm2.Decrypt(terminal, x.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := sm9.UnmarshalSignPrivateKeyASN1(stored)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := sm9.SignASN1(e.s.rand, priv, []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := e.s.Verify(ctx, "acme", "kgc", VerifyRequest{ID: "cam-1", Input: []byte("m"), Signature: sig}); err != nil || !v.Valid {
		t.Fatalf("the delivered key's signature: %+v, %v", v, err)
	}

	pw := []byte("one-time password")
	x, err = e.s.Extract(ctx, "acme", "ekgc", ExtractRequest{ID: "cam-1", Deliver: Delivery{Password: pw}})
	if err != nil {
		t.Fatal(err)
	}
	body, err := kms.OpenSealed(x.Sealed, pw)
	if err != nil {
		t.Fatal(err)
	}
	epriv, err := sm9.UnmarshalEncryptPrivateKeyASN1(body)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := e.s.Encrypt(ctx, "acme", "ekgc", EncryptRequest{ID: "cam-1", Plaintext: []byte("hi"), Mode: device.SM9SM4CBC})
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := sm9.DecryptASN1(epriv, []byte("cam-1"), ct); err != nil || string(pt) != "hi" {
		t.Fatalf("the terminal decrypts %q, %v", pt, err)
	}

	for _, d := range []Delivery{{}, {Hosted: true, Password: pw}, {SM2PublicKey: "not pem"}, {Password: []byte("short")}} {
		_, err := e.s.Extract(ctx, "acme", "kgc", ExtractRequest{ID: "cam-2", Deliver: d})
		wantCode(t, err, fault.InvalidArgument)
	}
	_, err = e.s.Extract(ctx, "acme", "kgc", ExtractRequest{ID: ListSigner, Deliver: Delivery{Hosted: true}})
	wantCode(t, err, fault.InvalidArgument)
}

func TestHostedDecryptAndExchange(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if _, err := e.s.Extract(ctx, "acme", "ekgc", ExtractRequest{ID: "app", Deliver: Delivery{Hosted: true}}); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []device.SM9Mode{device.SM9XOR, device.SM9SM4CBC} {
		ct, err := e.s.Encrypt(ctx, "acme", "ekgc", EncryptRequest{ID: "app", Plaintext: []byte("secret"), Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		pt, err := e.s.Decrypt(ctx, "acme", "ekgc", DecryptRequest{ID: "app", Ciphertext: ct})
		if err != nil || string(pt) != "secret" {
			t.Fatalf("mode %d: Decrypt = %q, %v", mode, pt, err)
		}
	}
	_, err := e.s.Decrypt(ctx, "acme", "ekgc", DecryptRequest{ID: "app", Ciphertext: []byte{0x30, 0}})
	wantCode(t, err, fault.DecryptFailed)
	key, c, err := e.s.Encapsulate(ctx, "acme", "ekgc", "app", 0, 32)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.s.Decapsulate(ctx, "acme", "ekgc", "app", 0, c, 32); err != nil || string(got) != string(key) {
		t.Fatalf("Decapsulate = %x, %v", got, err)
	}
	_, err = e.s.Sign(ctx, "acme", "ekgc", SignRequest{ID: "app", Input: []byte("m")})
	wantCode(t, err, fault.KeyNotFound)
}

// TestRevocationListSigned checks the list with gmsm and the master
// public key alone, as a device does.
func TestRevocationListSigned(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if err := e.s.Revoke(ctx, "acme", "kgc", []string{"b", "a", "b"}); err != nil {
		t.Fatal(err)
	}
	l, err := e.s.RevocationList(ctx, "acme", "kgc")
	if err != nil {
		t.Fatal(err)
	}
	pk, err := e.s.PublicKey(ctx, "acme", "kgc", 0)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sm9.ParseSignMasterPublicKeyPEM([]byte(pk.PEM))
	if err != nil {
		t.Fatal(err)
	}
	if !sm9.VerifyASN1(pub, []byte(l.Signer), device.SM9SignHID, l.Body, l.Signature) {
		t.Fatal("the revocation list's signature does not verify with the master public key")
	}
	if want := `"serial":1,`; !contains(l.Body, want) || !contains(l.Body, `"revoked":["a","b"]`) {
		t.Fatalf("list body %s", l.Body)
	}
	err = e.s.Revoke(ctx, "acme", "nokgc", []string{"a"})
	wantCode(t, err, fault.KeyNotFound)
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
