package server

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/device/pkcs11/softhsmtest"
)

// softhsm is the SoftHSM2 module; TestMain makes the token "mima".
var softhsm string

func TestMain(m *testing.M) {
	lib, cleanup, err := softhsmtest.Setup("mima")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	softhsm = lib
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// hsmConfig is a bolt node in dir sealed by the token labelled token.
func hsmConfig(t *testing.T, dir, token string) Config {
	t.Helper()
	softhsmtest.Require(t, softhsm)
	t.Setenv("MIMA_TEST_HSM_PIN", softhsmtest.PIN)
	cfg := boltConfig(dir)
	cfg.Devices = []DeviceConfig{{Name: "hsm0", Type: "pkcs11"}}
	cfg.Devices[0].Library, cfg.Devices[0].TokenLabel, cfg.Devices[0].PINEnv = softhsm, token, "MIMA_TEST_HSM_PIN"
	cfg.Seal = SealConfig{Type: "pkcs11", Device: "hsm0", KeyLabel: "mima-root"}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSealPKCS11MissingToken: a node whose seal token is missing does not
// start, and says which token it looked for and which it found.
func TestSealPKCS11MissingToken(t *testing.T) {
	dir := t.TempDir()
	n, err := assemble(context.Background(), hsmConfig(t, dir, "absent"))
	if err == nil {
		n.close()
		t.Fatal("a node started without its seal token")
	}
	for _, want := range []string{`device "hsm0"`, `no token labelled "absent"`, `present: "mima"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v: does not say %q", err, want)
		}
	}
	// assemble released the data directory.
	n, err = assemble(context.Background(), hsmConfig(t, dir, "mima"))
	if err != nil {
		t.Fatal(err)
	}
	n.close()
}

// TestSealPKCS11Restart: a node initialised with seal: pkcs11 unseals
// itself when it starts again.
func TestSealPKCS11Restart(t *testing.T) {
	ctx := context.Background()
	cfg := hsmConfig(t, t.TempDir(), "mima")
	n, err := assemble(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.core.Init(ctx, 3, 2); err != nil {
		t.Fatal(err)
	}
	if n.core.Sealed() {
		t.Fatal("init with seal: pkcs11 left the node sealed")
	}
	n.close()
	n, err = assemble(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	var out bytes.Buffer
	if err := n.start(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if n.core.Sealed() || !strings.Contains(out.String(), "unsealed with the pkcs11 seal (device hsm0, key mima-root)") {
		t.Fatalf("restart: sealed %v, said %q", n.core.Sealed(), out.String())
	}
}
