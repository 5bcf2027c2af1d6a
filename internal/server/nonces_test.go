package server

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/kms"
)

// TestShutdownGivesBackNonces: a clean shutdown returns the nonces the
// node reserved and did not use, so the next start counts exactly the
// encryptions made.
func TestShutdownGivesBackNonces(t *testing.T) {
	ctx := context.Background()
	cfg := Defaults()
	cfg.Storage, cfg.DataDir, cfg.Dev = "bolt", t.TempDir(), true
	n, err := assemble(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := n.start(ctx, &out); err != nil {
		n.close()
		t.Fatal(err)
	}
	share := regexp.MustCompile(`unseal share: (\S+)`).FindStringSubmatch(out.String())
	if share == nil {
		n.close()
		t.Fatalf("no unseal share in %q", out.String())
	}
	if _, err := n.keys.Create(ctx, "acme", kms.CreateRequest{Name: "k", Type: device.SM4}); err != nil {
		n.close()
		t.Fatal(err)
	}
	for range 3 {
		if _, err := n.keys.Encrypt(ctx, "acme", "k", kms.EncryptRequest{Plaintext: []byte("p")}); err != nil {
			n.close()
			t.Fatal(err)
		}
	}
	n.close()

	cfg.Dev = false
	n, err = assemble(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	if _, err := n.core.Unseal(ctx, share[1]); err != nil {
		t.Fatal(err)
	}
	ki, err := n.keys.Get(ctx, "acme", "k")
	if err != nil {
		t.Fatal(err)
	}
	if got := ki.Versions[0].Encryptions; got != 3 {
		t.Fatalf("after a clean shutdown the key counts %d encryptions, want 3", got)
	}
}
