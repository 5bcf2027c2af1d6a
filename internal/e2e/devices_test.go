package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/sdk"
)

// TestDevicePoolThroughCLI runs a server with a pool of two software
// devices: a key placed on one keeps working when that device is drained
// (its replica serves), mima device list|status|drain show and change the
// pool, /metrics has per-device series, and a tenant's quota refuses a key
// past max_keys.
func TestDevicePoolThroughCLI(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "mima.yaml")
	if err := os.WriteFile(cfg, []byte("devices:\n  - {name: soft0, type: software}\n  - {name: soft1, type: software}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const root = "e2e-root-token"
	srv := startServer(t, "--dev", "--dev-root-token", root, "--config", cfg)
	var devs []sdk.Device
	cliJSON(t, srv.addr, root, &devs, "device", "list")
	if len(devs) != 2 || devs[0].Name != "soft0" || !devs[0].Healthy || devs[0].LastCheck == nil {
		t.Fatalf("devices: %+v", devs)
	}
	var created sdk.TenantCreated
	cliJSON(t, srv.addr, root, &created, "tenant", "create", "shop")
	tok := created.Token
	var k sdk.Key
	cliJSON(t, srv.addr, tok, &k, "key", "create", "orders", "--type", "sm4", "--device", "soft1")
	if k.Device != "soft1" {
		t.Fatalf("key placed on %q", k.Device)
	}
	ct := strings.TrimSpace(must(t, srv, tok, "order 7", "encrypt", "orders"))
	var d sdk.Device
	cliJSON(t, srv.addr, root, &d, "device", "drain", "soft1")
	if !d.Drained {
		t.Fatalf("after drain: %+v", d)
	}
	if pt := must(t, srv, tok, ct, "decrypt", "orders"); pt != "order 7" {
		t.Fatalf("decrypt with the key's device drained: %q", pt)
	}
	cliJSON(t, srv.addr, root, &d, "device", "status", "soft1")
	if !d.Drained || d.Ops == 0 {
		t.Fatalf("status: %+v", d)
	}
	cliJSON(t, srv.addr, root, &d, "device", "drain", "soft1", "--undo")
	if d.Drained {
		t.Fatalf("after undo: %+v", d)
	}
	if r := cli(t, srv.addr, tok, "key", "create", "x", "--type", "sm4", "--device", "hsm9"); r.code == 0 || !strings.Contains(r.stderr, "hsm9") {
		t.Fatalf("a key on a device the server lacks: exit %d %s", r.code, r.stderr)
	}

	resp, err := http.Get(srv.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`mima_device_ops_total{device="soft1"}`, `mima_device_healthy{device="soft0"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	var q sdk.Quota
	cliJSON(t, srv.addr, root, &q, "tenant", "quota", "shop", "--max-keys", "1")
	if q.MaxKeys != 1 || q.OpsPerSec != 0 {
		t.Fatalf("quota: %+v", q)
	}
	if r := cli(t, srv.addr, tok, "key", "create", "second", "--type", "sm4"); r.code == 0 || !strings.Contains(r.stderr, "max_keys") {
		t.Fatalf("a key past max_keys: exit %d %s", r.code, r.stderr)
	}
}
