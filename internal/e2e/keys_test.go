package e2e

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/sdk"
)

// initialised starts a bolt-backed server, initialises and unseals it, and
// returns it with its root token and unseal share.
func initialised(t *testing.T, dataDir string) (*server, string, string) {
	t.Helper()
	srv := startServer(t, "--storage", "bolt", "--data-dir", dataDir)
	ctx := context.Background()
	res, err := srv.client(t, "").Sys().Init(ctx, sdk.InitRequest{Shares: 1, Threshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.client(t, "").Sys().Unseal(ctx, res.Shares[0]); err != nil {
		t.Fatal(err)
	}
	return srv, res.RootToken, res.Shares[0]
}

// must runs the CLI and requires success, returning standard output.
func must(t *testing.T, srv *server, token, stdin string, args ...string) string {
	t.Helper()
	r := cliIn(t, srv.addr, token, stdin, args...)
	if r.code != 0 {
		t.Fatalf("mima %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// TestKeyServiceThroughCLI drives the key service as a user would, with
// the CLI: encrypt and decrypt across a rotation and a restart, sign and
// verify, hash a file, import a locally made SM2 key, export a key and use
// it locally, and restore a backup into a second cluster.
func TestKeyServiceThroughCLI(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "node1")
	srv, root, share := initialised(t, dataDir)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	must(t, srv, root, "", "key", "create", "orders", "--type", "sm4")
	ct := strings.TrimSpace(must(t, srv, root, "patient 42: allergic to penicillin", "encrypt", "orders"))
	if !strings.HasPrefix(ct, "mima:v1:") {
		t.Fatalf("ciphertext %q", ct)
	}
	must(t, srv, root, "", "key", "rotate", "orders")
	ct2 := strings.TrimSpace(must(t, srv, root, "second", "encrypt", "orders"))
	if !strings.HasPrefix(ct2, "mima:v2:") {
		t.Fatalf("after rotation: %q", ct2)
	}
	if pt := must(t, srv, root, ct, "decrypt", "orders"); pt != "patient 42: allergic to penicillin" {
		t.Fatalf("decrypt v1 after rotation: %q", pt)
	}

	// Sign and verify; a changed message is refused with exit status 2.
	must(t, srv, root, "", "key", "create", "doctor", "--type", "sm2")
	msg := write("record.txt", []byte("diagnosis: influenza"))
	sig := strings.TrimSpace(must(t, srv, root, "", "sign", "doctor", "--in", msg))
	if out := must(t, srv, root, "", "verify", "doctor", "--in", msg, "--signature", sig); strings.TrimSpace(out) != "valid" {
		t.Fatalf("verify: %q", out)
	}
	if r := cliIn(t, srv.addr, root, "diagnosis: influenza!", "verify", "doctor", "--signature", sig); r.code != 2 || strings.TrimSpace(r.stdout) != "invalid" {
		t.Fatalf("tampered message: exit %d %q", r.code, r.stdout)
	}

	// Hash streams a file larger than the request body limit.
	big := bytes.Repeat([]byte("0123456789abcdef"), 512<<10) // 8 MiB
	sum := sm3.Sum(big)
	if out := must(t, srv, root, "", "hash", "--in", write("big.bin", big)); strings.TrimSpace(out) != hex.EncodeToString(sum[:]) {
		t.Fatalf("hash: %q", out)
	}
	randPath := filepath.Join(dir, "random.bin")
	must(t, srv, root, "", "random", "48", "--raw", "--out", randPath)
	if b, _ := os.ReadFile(randPath); len(b) != 48 {
		t.Fatalf("random: %d bytes", len(b))
	}

	// Import an SM2 key made here; a signature by the local key verifies
	// through mima with the imported version.
	local, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := smx509.MarshalPKCS8PrivateKey(local)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := write("local.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	must(t, srv, root, "", "key", "create", "byok", "--type", "sm2")
	var imported sdk.Key
	if err := json.Unmarshal([]byte(must(t, srv, root, "", "key", "import", "byok", "--in", keyPEM, "--format", "json")), &imported); err != nil {
		t.Fatal(err)
	}
	if imported.LatestVersion != 2 || !imported.Versions[1].Imported {
		t.Fatalf("imported key: %+v", imported)
	}
	localSig, err := local.Sign(rand.Reader, []byte("diagnosis: influenza"), sm2.DefaultSM2SignerOpts)
	if err != nil {
		t.Fatal(err)
	}
	must(t, srv, root, "", "verify", "byok", "--in", msg, "--version", "2", "--signature", base64.StdEncoding.EncodeToString(localSig))

	// Export an exportable key under a local SM2 key and decrypt a mima
	// ciphertext locally with it (nonce 12 || ciphertext || tag).
	must(t, srv, root, "", "key", "create", "portable", "--type", "sm4", "--exportable")
	pubDER, _ := smx509.MarshalPKIXPublicKey(&local.PublicKey)
	pubPEM := write("local.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	wrappedPath := filepath.Join(dir, "wrapped.bin")
	must(t, srv, root, "", "key", "export", "portable", "--public-key", pubPEM, "--out", wrappedPath)
	wrapped, _ := os.ReadFile(wrappedPath)
	raw, err := sdk.UnwrapExported(sdk.ExportedKey{Type: "sm4", Wrapped: wrapped}, local)
	if err != nil {
		t.Fatal(err)
	}
	pct := strings.TrimSpace(must(t, srv, root, "for local eyes", "encrypt", "portable"))
	payload, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(pct, "mima:v1:"))
	block, _ := sm4.NewCipher(raw.([]byte))
	gcm, _ := cipher.NewGCM(block)
	if pt, err := gcm.Open(nil, payload[:12], payload[12:], nil); err != nil || string(pt) != "for local eyes" {
		t.Fatalf("local decrypt of an exported key: %q, %v", pt, err)
	}

	// Back the key up and restore it into a second cluster.
	pass := write("pass", []byte("correct horse battery staple\n"))
	backup := filepath.Join(dir, "portable.bak")
	must(t, srv, root, "", "key", "backup", "portable", "--password-file", pass, "--out", backup)
	other, otherRoot, _ := initialised(t, filepath.Join(dir, "node2"))
	must(t, other, otherRoot, "", "key", "restore", "--in", backup, "--password-file", pass)
	if pt := must(t, other, otherRoot, pct, "decrypt", "portable"); pt != "for local eyes" {
		t.Fatalf("decrypt in the second cluster: %q", pt)
	}
	other.stop()

	// Everything survives a restart.
	srv.stop()
	srv = startServer(t, "--storage", "bolt", "--data-dir", dataDir)
	if _, err := srv.client(t, "").Sys().Unseal(context.Background(), share); err != nil {
		t.Fatal(err)
	}
	if pt := must(t, srv, root, ct2, "decrypt", "orders"); pt != "second" {
		t.Fatalf("decrypt after restart: %q", pt)
	}

	// mima bench reports in JSON against this server.
	var rep struct {
		OpsPerSec float64 `json:"ops_per_sec"`
		P99ms     float64 `json:"p99_ms"`
		Errors    int     `json:"errors"`
	}
	for _, args := range [][]string{{"--op", "encrypt"}, {"--op", "batch-encrypt", "--batch-size", "10", "--cbor"}} {
		out := must(t, srv, root, "", append([]string{"bench", "--concurrency", "2", "--duration", "200ms", "--warmup", "0s", "--json"}, args...)...)
		if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.OpsPerSec <= 0 || rep.Errors != 0 {
			t.Fatalf("bench %v: %s", args, out)
		}
	}
	srv.stop()
}
