package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/interoptest"
	"github.com/mimacrypto/mima/sdk"
)

// TestPKCS11Module drives libmimapkcs11 with OpenSC's pkcs11-tool against
// a dev server: slots per tenant, mima keys as objects, an SM2 signature
// (CKM_SM3_SM2_DER, 0x80008101) that mima's API and OpenSSL verify, and
// the refusals: a wrong PIN, a standard EC mechanism (issue 20).
func TestPKCS11Module(t *testing.T) {
	tool, err := exec.LookPath("pkcs11-tool")
	if err != nil {
		t.Skip("pkcs11-tool is not installed (scripts/test installs opensc)")
	}
	dir := t.TempDir()
	lib := filepath.Join(dir, "libmimapkcs11.so")
	if out, err := exec.Command("go", "build", "-buildmode=c-shared", "-o", lib, "github.com/mimacrypto/mima/cmd/libmimapkcs11").CombinedOutput(); err != nil {
		t.Fatalf("building libmimapkcs11: %v\n%s", err, out)
	}
	srv, root := devServer(t)
	c, ctx := srv.client(t, root), context.Background()
	if _, err := c.Keys().Create(ctx, sdk.CreateKeyRequest{Name: "p11-sign", Type: "sm2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Auth().PutPolicy(ctx, "p11-app", []sdk.Rule{{Operations: []string{"*"}, Objects: []string{"*"}}}); err != nil {
		t.Fatal(err)
	}
	app, err := c.Auth().CreateToken(ctx, sdk.TokenRequest{Policies: []string{"p11-app"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]any{"address": srv.addr, "tenants": []string{"default", "acme"}})
	interoptest.WriteFiles(t, dir, map[string][]byte{"p11.json": cfg, "msg": []byte("signed through PKCS#11")})
	env := append(os.Environ(), "MIMA_SDF_CONFIG="+filepath.Join(dir, "p11.json"), "MIMA_ADDR=", "MIMA_TOKEN=")
	run := func(args ...string) (string, error) {
		cmd := exec.Command(tool, append([]string{"--module", lib}, args...)...)
		cmd.Env, cmd.Dir = env, dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("pkcs11-tool %v: %v\n%s", args, err, out)
		}
		return out
	}

	if out := must("--list-slots"); !strings.Contains(out, "mima tenant default") || !strings.Contains(out, "mima tenant acme") {
		t.Fatalf("slots: %s", out)
	}
	login := []string{"--slot", "0", "--login", "--pin", app.Token}
	if out := must(append(login, "--list-objects")...); !strings.Contains(out, "p11-sign") || !strings.Contains(out, "Private Key") {
		t.Fatalf("objects: %s", out)
	}
	must(append(login, "--sign", "--mechanism", "0x80008101", "--label", "p11-sign", "--input-file", "msg", "--output-file", "sig")...)
	sig, err := os.ReadFile(filepath.Join(dir, "sig"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := c.Crypto().Verify(ctx, "p11-sign", sdk.VerifyRequest{Input: []byte("signed through PKCS#11"), Signature: sig}); err != nil || !res.Valid {
		t.Fatalf("the API does not verify the PKCS#11 signature: %+v %v", res, err)
	}
	pem, err := c.Keys().PublicKeyPEM(ctx, "p11-sign", 0)
	if err != nil {
		t.Fatal(err)
	}
	interoptest.WriteFiles(t, dir, map[string][]byte{"pub.pem": []byte(pem)})
	ossl := interoptest.OpenSSL(t, dir, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
		"-sigfile", "sig", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678")
	if !strings.Contains(string(ossl), "Signature Verified Successfully") {
		t.Fatalf("openssl: %s", ossl)
	}
	if out := must(append(login, "--verify", "--mechanism", "0x80008101", "--label", "p11-sign", "--input-file", "msg", "--signature-file", "sig")...); !strings.Contains(out, "Signature is valid") {
		t.Fatalf("pkcs11-tool --verify: %s", out)
	}

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong PIN", []string{"--slot", "0", "--login", "--pin", "mima.s.not-a-token", "--list-objects"}, "CKR_PIN_INCORRECT"},
		{"token of another tenant", []string{"--slot", "1", "--login", "--pin", app.Token, "--list-objects"}, "CKR_PIN_INCORRECT"},
		{"standard EC mechanism", append(login, "--sign", "--mechanism", "ECDSA", "--label", "p11-sign", "--input-file", "msg"), "CKR_MECHANISM_INVALID"},
	} {
		if out, err := run(c.args...); err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%s: %v, want %s in\n%s", c.name, err, c.want, out)
		}
	}
}
