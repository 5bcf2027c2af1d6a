//go:build cgo && linux

package pkcs11

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/barrier"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/seal"
	"github.com/mimacrypto/mima/internal/sealstate"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/inmem"
)

func machine(raw storage.Backend, opts ...sealstate.Option) *sealstate.Machine {
	b := barrier.New(raw)
	return sealstate.New(raw, b, authn.New(), opts...)
}

func sealConfig(t *testing.T, raw storage.Backend) seal.Config {
	t.Helper()
	b, err := raw.Get(ctx, "sys/seal-config")
	if err != nil {
		t.Fatal(err)
	}
	var cfg seal.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSealAutoUnseal: seal: pkcs11 wraps the root key with a token key, a
// restarted node unseals itself, rotation to a new key label wraps the
// root key again so that the old key can go, and the key shares remain
// the recovery path.
func TestSealAutoUnseal(t *testing.T) {
	d := newDevice(t, "mima")
	raw := inmem.New()
	first := machine(raw, sealstate.WithWrapper(d.SealWrapper("root-a")))
	res, err := first.Init(ctx, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if first.Sealed() {
		t.Fatal("init with seal: pkcs11 left the node sealed")
	}
	cfg := sealConfig(t, raw)
	if cfg.Wrapper != "pkcs11" || len(cfg.WrappedRootKey) == 0 {
		t.Fatalf("seal config: wrapper %q, %d wrapped bytes", cfg.Wrapper, len(cfg.WrappedRootKey))
	}
	restarted := machine(raw, sealstate.WithWrapper(d.SealWrapper("root-a")))
	if err := restarted.AutoUnseal(ctx); err != nil || restarted.Sealed() {
		t.Fatalf("auto-unseal: %v", err)
	}

	// Rotation: a new label; the old key opens the root key once more.
	rotated := machine(raw, sealstate.WithWrapper(d.SealWrapper("root-b")))
	if err := rotated.AutoUnseal(ctx); err != nil || rotated.Sealed() {
		t.Fatalf("auto-unseal with a rotated seal key: %v", err)
	}
	after := sealConfig(t, raw)
	oldID, _ := sealedID(cfg.WrappedRootKey)
	newID, _ := sealedID(after.WrappedRootKey)
	if bytes.Equal(oldID, newID) {
		t.Fatal("rotation did not wrap the root key under the new token key")
	}
	destroy(t, d, "root-a")
	again := machine(raw, sealstate.WithWrapper(d.SealWrapper("root-b")))
	if err := again.AutoUnseal(ctx); err != nil || again.Sealed() {
		t.Fatalf("auto-unseal after the old seal key was destroyed: %v", err)
	}

	// Without the token: the key shares.
	manual := machine(raw)
	for _, s := range res.Shares[:2] {
		if _, err := manual.Unseal(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if manual.Sealed() {
		t.Fatal("the key shares do not unseal a cluster with seal: pkcs11")
	}
}

// TestSealRefusesOtherWrapper: a cluster whose root key another token key
// or the KEK wraps does not unseal, and says why.
func TestSealRefusesOtherWrapper(t *testing.T) {
	d := newDevice(t, "mima")
	raw := inmem.New()
	if _, err := machine(raw, sealstate.WithKEK(bytes.Repeat([]byte{1}, 16))).Init(ctx, 1, 1); err != nil {
		t.Fatal(err)
	}
	m := machine(raw, sealstate.WithWrapper(d.SealWrapper("root")))
	if err := m.AutoUnseal(ctx); !fault.Is(err, fault.UnsealFailed) || !strings.Contains(err.Error(), "wrapped by the kek seal") || !m.Sealed() {
		t.Fatalf("a KEK cluster with seal: pkcs11: %v", err)
	}

	raw = inmem.New()
	if _, err := machine(raw, sealstate.WithWrapper(d.SealWrapper("root"))).Init(ctx, 1, 1); err != nil {
		t.Fatal(err)
	}
	other := newDevice(t, "other")
	m = machine(raw, sealstate.WithWrapper(other.SealWrapper("root")))
	if err := m.AutoUnseal(ctx); !fault.Is(err, fault.UnsealFailed) || !strings.Contains(err.Error(), "no wrapping key with id") || !m.Sealed() {
		t.Fatalf("another token: %v", err)
	}
}

// destroy removes the token key labelled label.
func destroy(t *testing.T, d *Device, label string) {
	t.Helper()
	err := d.withSession(ctx, func(sh pkcs11.SessionHandle) error {
		found, err := d.find(sh, pkcs11.NewAttribute(pkcs11.CKA_LABEL, label))
		if err != nil || len(found) != 1 {
			t.Fatalf("finding %s: %v, %d", label, err, len(found))
		}
		return d.mod.ctx.DestroyObject(sh, found[0])
	})
	if err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	clear(d.wrapKeys)
	clear(d.labels)
	d.mu.Unlock()
}
