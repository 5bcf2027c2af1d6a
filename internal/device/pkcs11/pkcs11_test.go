//go:build cgo && linux

package pkcs11

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/miekg/pkcs11"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/device/devicetest"
	"github.com/mimacrypto/mima/internal/device/pkcs11/softhsmtest"
)

// lib is the SoftHSM2 module; TestMain makes the tokens "mima" and "other".
var lib string

const pinEnv = "MIMA_TEST_HSM_PIN"

func TestMain(m *testing.M) {
	var cleanup func()
	var err error
	lib, cleanup, err = softhsmtest.Setup("mima", "other")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv(pinEnv, softhsmtest.PIN)
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// newDevice opens the token labelled label, closed when t ends.
func newDevice(t testing.TB, label string) *Device {
	t.Helper()
	softhsmtest.Require(t, lib)
	d, err := New(Config{Library: lib, TokenLabel: label, PINEnv: pinEnv})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d
}

var ctx = context.Background()

func TestConformance(t *testing.T) {
	devicetest.Run(t, func(t *testing.T) device.Device { return newDevice(t, "mima") })
}

// TestNewRefuses checks that a device that cannot be used says why.
func TestNewRefuses(t *testing.T) {
	softhsmtest.Require(t, lib)
	t.Setenv("MIMA_TEST_WRONG_PIN", "0000")
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no token", Config{Library: lib, TokenLabel: "absent", PINEnv: pinEnv}, `no token labelled "absent" (present: `},
		{"no library", Config{Library: "/nonexistent/libp11.so", TokenLabel: "mima", PINEnv: pinEnv}, "/nonexistent/libp11.so (library) cannot be read"},
		{"no pin", Config{Library: lib, TokenLabel: "mima", PINEnv: "MIMA_TEST_UNSET_PIN"}, "MIMA_TEST_UNSET_PIN (pin_env)"},
		{"wrong pin", Config{Library: lib, TokenLabel: "mima", PINEnv: "MIMA_TEST_WRONG_PIN"}, "refused the PIN in MIMA_TEST_WRONG_PIN"},
	} {
		d, err := New(tc.cfg)
		if err == nil {
			d.Close()
			t.Errorf("%s: opened", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, device.ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable saying %q", tc.name, err, tc.want)
		}
		if strings.Contains(err.Error(), "0000") {
			t.Errorf("%s: the error quotes the PIN", tc.name)
		}
	}
	if _, err := New(Config{Library: lib, TokenLabel: "mima"}); err == nil || !strings.Contains(err.Error(), "pin_env") {
		t.Errorf("no pin_env: %v", err)
	}
}

// TestKeysStayIn checks that no key leaves: no backup, no export, and the
// stored form does not hold the key.
func TestKeysStayIn(t *testing.T) {
	d := newDevice(t, "mima")
	for _, typ := range []device.KeyType{device.SM4, device.SM2, device.HMACSM3} {
		stored, err := d.Generate(ctx, typ)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Backup(ctx, typ, stored); !errors.Is(err, device.ErrNotSupported) {
			t.Errorf("%s: Backup: %v, want ErrNotSupported", typ, err)
		}
		if _, err := d.Restore(ctx, typ, stored); !errors.Is(err, device.ErrNotSupported) {
			t.Errorf("%s: Restore: %v, want ErrNotSupported", typ, err)
		}
		k, err := d.Open(ctx, typ, stored)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := k.(device.Wrapper); ok {
			t.Errorf("%s: the key can be wrapped out", typ)
		}
		if _, ok := k.(device.Extractable); ok {
			t.Errorf("%s: a stored key is extractable", typ)
		}
	}
	// An imported key with known bytes: its stored form does not hold them.
	raw := bytes.Repeat([]byte{0x5a}, 16)
	wkStored, err := d.Generate(ctx, device.SM2)
	if err != nil {
		t.Fatal(err)
	}
	wk, err := d.Open(ctx, device.SM2, wkStored)
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := sm2.EncryptASN1(rand.Reader, wk.(device.Signer).Public(), raw)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := d.Unwrap(ctx, wk, device.SM4, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, raw) || bytes.Contains(stored, raw[:8]) {
		t.Fatal("the stored form holds the key")
	}
}

// tenantKeys returns the stored forms of an sm4 key of tenant acme and of
// one of tenant globex, made by d.
func tenantKeys(t *testing.T, d *Device) (acme, globex []byte) {
	t.Helper()
	var err error
	if acme, err = d.Generate(device.WithTenant(ctx, "acme"), device.SM4); err != nil {
		t.Fatal(err)
	}
	if globex, err = d.Generate(device.WithTenant(ctx, "globex"), device.SM4); err != nil {
		t.Fatal(err)
	}
	return acme, globex
}

// TestTenantKeys checks that each tenant's keys are sealed under a token
// key of its own that the token will not let out, and that a key does not
// open under another tenant's token key.
func TestTenantKeys(t *testing.T) {
	d := newDevice(t, "mima")
	a, b := tenantKeys(t, d)
	idA, _ := sealedID(a[1:])
	idB, _ := sealedID(b[1:])
	if bytes.Equal(idA, idB) {
		t.Fatal("two tenants' keys are sealed under one token key")
	}
	err := d.withSession(ctx, func(sh pkcs11.SessionHandle) error {
		for label, id := range map[string][]byte{"mima-wrap/acme": idA, "mima-wrap/globex": idB} {
			found, err := d.find(sh, pkcs11.NewAttribute(pkcs11.CKA_LABEL, label), pkcs11.NewAttribute(pkcs11.CKA_ID, id))
			if err != nil || len(found) != 1 {
				return fmt.Errorf("token key %s: %v, %d found", label, err, len(found))
			}
			attrs, err := d.mod.ctx.GetAttributeValue(sh, found[0], []*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, nil), pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil), pkcs11.NewAttribute(pkcs11.CKA_TOKEN, nil)})
			if err != nil {
				return err
			}
			if attrs[0].Value[0] != 0 || attrs[1].Value[0] != 1 || attrs[2].Value[0] != 1 {
				return fmt.Errorf("token key %s: extractable %v, sensitive %v, token %v", label, attrs[0].Value, attrs[1].Value, attrs[2].Value)
			}
			if _, err := d.mod.ctx.GetAttributeValue(sh, found[0], []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)}); err == nil {
				return fmt.Errorf("token key %s: its value can be read", label)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// acme's sealed key presented as sealed under globex's token key.
	moved := bytes.Clone(a)
	copy(moved[2:2+idSize], idB)
	if _, err := d.Open(ctx, device.SM4, moved); !errors.Is(err, device.ErrInvalidMaterial) {
		t.Fatalf("a key moved to another tenant's token key: %v, want ErrInvalidMaterial", err)
	}
	// The same tenant reuses its token key.
	again, err := d.Generate(device.WithTenant(ctx, "acme"), device.HMACSM3)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := sealedID(again[1:]); !bytes.Equal(id, idA) {
		t.Fatal("a tenant's second key has another token key")
	}
}

// TestKeyOnAnotherToken: a stored form names its token key; a token
// without it says the key is not found.
func TestKeyOnAnotherToken(t *testing.T) {
	stored, err := newDevice(t, "mima").Generate(ctx, device.SM4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newDevice(t, "other").Open(ctx, device.SM4, stored); !errors.Is(err, device.ErrKeyNotFound) {
		t.Fatalf("%v, want ErrKeyNotFound", err)
	}
}

// TestBusy: with every session in use, a call whose context ends is
// ErrBusy.
func TestBusy(t *testing.T) {
	softhsmtest.Require(t, lib)
	d, err := New(Config{Library: lib, TokenLabel: "mima", PINEnv: pinEnv, Sessions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- d.withSession(ctx, func(pkcs11.SessionHandle) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.Generate(cancelled, device.SM4); !errors.Is(err, device.ErrBusy) {
		t.Errorf("%v, want ErrBusy", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := d.Generate(ctx, device.SM4); err != nil {
		t.Fatalf("after the session is free: %v", err)
	}
}

// TestRetireTenant: retiring a tenant destroys its token key, so its keys'
// stored forms no longer open, while another tenant's still do; retiring
// it again is no error, and the device's own token key cannot be retired.
func TestRetireTenant(t *testing.T) {
	d := newDevice(t, "mima")
	a, b := tenantKeys(t, d)
	if _, err := d.Open(ctx, device.SM4, a); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := d.RetireTenant(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Open(ctx, device.SM4, a); !errors.Is(err, device.ErrKeyNotFound) {
		t.Fatalf("a retired tenant's key: %v, want ErrKeyNotFound", err)
	}
	// A device that never cached the handle (another node, a restart).
	if _, err := newDevice(t, "mima").Open(ctx, device.SM4, a); !errors.Is(err, device.ErrKeyNotFound) {
		t.Fatalf("a retired tenant's key on a fresh session: %v, want ErrKeyNotFound", err)
	}
	if _, err := d.Open(ctx, device.SM4, b); err != nil {
		t.Fatalf("another tenant's key after the retirement: %v", err)
	}
	if err := d.RetireTenant(ctx, ""); err == nil {
		t.Fatal("the device's own token key was retired")
	}
}
