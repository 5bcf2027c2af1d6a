package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/interoptest"
)

// devServer starts `mima server --dev` with a fixed root token.
func devServer(t *testing.T, args ...string) (*server, string) {
	t.Helper()
	const root = "mima.devroot.e2e-dev-root-token"
	return startServer(t, append([]string{"--dev", "--dev-root-token", root}, args...)...), root
}

// TestGenericReadWriteDelete reaches API routes by their paths, as Vault's
// read, write and delete do: a POST body from name=value pairs, a PUT
// where the path takes only PUT, queries and deletions (issue 13).
func TestGenericReadWriteDelete(t *testing.T) {
	srv, root := devServer(t)
	must(t, srv, root, "", "write", "keys", "name=orders", "type=sm4", "exportable=true")
	var k struct {
		Name       string `json:"name"`
		Type       string `json:"type"`
		Exportable bool   `json:"exportable"`
	}
	if err := json.Unmarshal([]byte(must(t, srv, root, "", "read", "/v1/keys/orders", "--format", "json")), &k); err != nil || k.Name != "orders" || !k.Exportable {
		t.Fatalf("read keys/orders: %+v %v", k, err)
	}
	if out := must(t, srv, root, "", "read", "keys/orders"); !strings.Contains(out, "KEY") || !strings.Contains(out, "orders") {
		t.Fatalf("table of read: %s", out)
	}
	// policies/{name} takes PUT only: write finds it.
	must(t, srv, root, "", "write", "policies/reader", `rules=[{"operations":["keys.read"],"objects":["*"]}]`)
	if out := must(t, srv, root, "", "read", "policies/reader", "--format", "json"); !strings.Contains(out, "keys.read") {
		t.Fatalf("read policies/reader: %s", out)
	}
	must(t, srv, root, "", "delete", "policies/reader")
	if r := cli(t, srv.addr, root, "read", "policies/reader"); r.code != 1 || !strings.Contains(r.stderr, "policy_not_found") {
		t.Fatalf("read after delete: exit %d %s", r.code, r.stderr)
	}
	must(t, srv, root, "", "delete", "keys/orders", "pending_days=7")
	if out := must(t, srv, root, "", "read", "keys", "state=pending_deletion", "--format", "json"); !strings.Contains(out, `"orders"`) {
		t.Fatalf("list pending keys: %s", out)
	}
	if out := must(t, srv, root, "", "read", "sys/openapi.yaml"); !strings.HasPrefix(out, "openapi:") {
		t.Fatalf("openapi: %.80s", out)
	}
}

// TestBigFiles: a file over the request limit is signed and verified by
// hashing it locally (SM3 with Z_A of the signing version) and sending the
// digest; OpenSSL verifies the signature over the whole file; after a
// rotation the old signature still verifies; encrypt refuses a big file
// with a pointer to --envelope, which encrypts it under a data key and
// decrypts it back (issue 13).
func TestBigFiles(t *testing.T) {
	srv, root := devServer(t)
	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), 5<<16) // 5 MiB, over the 4 MiB body limit
	altered := append(bytes.Clone(big[:len(big)-1]), 'X')
	interoptest.WriteFiles(t, dir, map[string][]byte{"big.iso": big, "altered.iso": altered})
	in, alt := filepath.Join(dir, "big.iso"), filepath.Join(dir, "altered.iso")
	must(t, srv, root, "", "key", "create", "doctor", "--type", "sm2")
	sig := strings.TrimSpace(must(t, srv, root, "", "sign", "doctor", "--in", in))
	der, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		t.Fatalf("signature %q: %v", sig, err)
	}
	interoptest.WriteFiles(t, dir, map[string][]byte{"sig.der": der, "pub.pem": []byte(must(t, srv, root, "", "key", "public", "doctor"))})
	out := interoptest.OpenSSL(t, dir, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "big.iso",
		"-sigfile", "sig.der", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678")
	if !strings.Contains(string(out), "Signature Verified Successfully") {
		t.Fatalf("openssl: %s", out)
	}
	must(t, srv, root, "", "key", "rotate", "doctor")
	var v struct {
		Valid      bool `json:"valid"`
		KeyVersion int  `json:"key_version"`
	}
	if err := json.Unmarshal([]byte(must(t, srv, root, "", "verify", "doctor", "--in", in, "--signature", sig, "--format", "json")), &v); err != nil || !v.Valid || v.KeyVersion != 1 {
		t.Fatalf("verify after rotation: %+v %v", v, err)
	}
	if r := cli(t, srv.addr, root, "verify", "doctor", "--in", alt, "--signature", sig); r.code != 2 {
		t.Fatalf("altered file: exit %d %s %s", r.code, r.stdout, r.stderr)
	}

	must(t, srv, root, "", "key", "create", "orders", "--type", "sm4")
	if r := cli(t, srv.addr, root, "encrypt", "orders", "--in", in); r.code != 1 || !strings.Contains(r.stderr, "--envelope") {
		t.Fatalf("encrypt of a big file: exit %d %s", r.code, r.stderr)
	}
	sealed, opened := filepath.Join(dir, "big.mima"), filepath.Join(dir, "big.out")
	must(t, srv, root, "", "encrypt", "orders", "--envelope", "--in", in, "--out", sealed)
	must(t, srv, root, "", "decrypt", "orders", "--envelope", "--in", sealed, "--out", opened)
	if got, err := os.ReadFile(opened); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("envelope round trip: %d bytes, %v", len(got), err)
	}
	if s, _ := os.ReadFile(sealed); bytes.Contains(s, big[:64]) {
		t.Fatal("the envelope holds the plaintext")
	}
}
