package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/interoptest"
	"github.com/mimacrypto/mima/sdk"
)

// buildPKCS11 builds libmimapkcs11.so into dir and returns its path.
func buildPKCS11(t *testing.T, dir string) string {
	t.Helper()
	lib := filepath.Join(dir, "libmimapkcs11.so")
	if out, err := exec.Command("go", "build", "-buildmode=c-shared", "-o", lib, "github.com/mimacrypto/mima/cmd/libmimapkcs11").CombinedOutput(); err != nil {
		t.Fatalf("building libmimapkcs11: %v\n%s", err, out)
	}
	return lib
}

// p11Server starts a dev server with, in tenant default, the sm2 key
// p11-sign and its certificate (CN p11-sign.example, from the root CA
// p11-ca), the exportable sm2 key p11-enc and the sm4 key p11-kek; it
// writes the module's configuration (slots default and acme) and returns
// the root client, the environment the module runs with and a token of
// tenant default that may use every key.
func p11Server(t *testing.T, dir string) (*sdk.Client, []string, sdk.TokenCreated) {
	t.Helper()
	srv, root := devServer(t)
	c, ctx := srv.client(t, root), context.Background()
	for _, k := range []sdk.CreateKeyRequest{{Name: "p11-sign", Type: "sm2"}, {Name: "p11-enc", Type: "sm2", Exportable: true}, {Name: "p11-kek", Type: "sm4"}} {
		if _, err := c.Keys().Create(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CA().Create(ctx, sdk.CreateCARequest{Name: "p11-ca", Type: "root", Subject: sdk.Subject{CommonName: "p11 root"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CA().Issue(ctx, "p11-ca", sdk.IssueRequest{Key: "p11-sign", Subject: sdk.Subject{CommonName: "p11-sign.example"}}); err != nil {
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
	interoptest.WriteFiles(t, dir, map[string][]byte{"p11.json": cfg})
	return c, append(os.Environ(), "MIMA_SDF_CONFIG="+filepath.Join(dir, "p11.json"), "MIMA_ADDR=", "MIMA_TOKEN="), app
}

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
	lib := buildPKCS11(t, dir)
	c, env, app := p11Server(t, dir)
	ctx := context.Background()
	interoptest.WriteFiles(t, dir, map[string][]byte{"msg": []byte("signed through PKCS#11")})
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
	// pkcs11-tool 0.23 picks the key of --sign and --verify by CKA_ID (the
	// key's name), not by --label: without --id it takes the first key.
	id := hex.EncodeToString([]byte("p11-sign"))
	if out := must(append(login, "--list-objects")...); !strings.Contains(out, "p11-sign") || !strings.Contains(out, "Private Key") {
		t.Fatalf("objects: %s", out)
	}
	must(append(login, "--sign", "--mechanism", "0x80008101", "--id", id, "--input-file", "msg", "--output-file", "sig")...)
	sig, err := os.ReadFile(filepath.Join(dir, "sig"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := c.Crypto().Verify(ctx, "p11-sign", sdk.VerifyRequest{Input: []byte("signed through PKCS#11"), Signature: sig}); err != nil || !res.Valid {
		t.Fatalf("the API does not verify the PKCS#11 signature: %+v %v", res, err)
	}
	pubPEM, err := c.Keys().PublicKeyPEM(ctx, "p11-sign", 0)
	if err != nil {
		t.Fatal(err)
	}
	interoptest.WriteFiles(t, dir, map[string][]byte{"pub.pem": []byte(pubPEM)})
	ossl := interoptest.OpenSSL(t, dir, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
		"-sigfile", "sig", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678")
	if !strings.Contains(string(ossl), "Signature Verified Successfully") {
		t.Fatalf("openssl: %s", ossl)
	}
	if out := must(append(login, "--verify", "--mechanism", "0x80008101", "--id", id, "--input-file", "msg", "--signature-file", "sig")...); !strings.Contains(out, "Signature is valid") {
		t.Fatalf("pkcs11-tool --verify: %s", out)
	}

	// p11-sign's certificate: listed, read, the DER the API holds, and
	// OpenSSL parses it
	if out := must(append(login, "--list-objects", "--type", "cert")...); !strings.Contains(out, "Certificate Object; type = X.509 cert") || !strings.Contains(out, "CN=p11-sign.example") {
		t.Fatalf("certificate objects: %s", out)
	}
	must(append(login, "--read-object", "--type", "cert", "--id", id, "--output-file", "cert.der")...)
	der, err := os.ReadFile(filepath.Join(dir, "cert.der"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := c.Certs().OfKey(ctx, "p11-sign")
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := pem.Decode([]byte(cert.Certificate)); block == nil || !bytes.Equal(block.Bytes, der) {
		t.Fatalf("pkcs11-tool read another certificate than the API's of p11-sign")
	}
	if out := string(interoptest.OpenSSL(t, dir, "x509", "-inform", "DER", "-in", "cert.der", "-noout", "-subject", "-serial")); !strings.Contains(out, "CN = p11-sign.example") || !strings.Contains(out, "serial="+strings.ToUpper(cert.Serial)) {
		t.Fatalf("openssl x509 (serial %s): %s", cert.Serial, out)
	}

	// a token that may list keys but not read their certificates sees the
	// keys and no certificate
	if _, err := c.Auth().PutPolicy(ctx, "p11-nocert", []sdk.Rule{{Operations: []string{"keys.list", "keys.public"}, Objects: []string{"*"}}}); err != nil {
		t.Fatal(err)
	}
	nocert, err := c.Auth().CreateToken(ctx, sdk.TokenRequest{Policies: []string{"p11-nocert"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	if out := must("--slot", "0", "--login", "--pin", nocert.Token, "--list-objects"); !strings.Contains(out, "p11-sign") || strings.Contains(out, "Certificate Object") {
		t.Fatalf("objects of a token without keys.certificate: %s", out)
	}

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong PIN", []string{"--slot", "0", "--login", "--pin", "mima.s.not-a-token", "--list-objects"}, "CKR_PIN_INCORRECT"},
		{"token of another tenant", []string{"--slot", "1", "--login", "--pin", app.Token, "--list-objects"}, "CKR_PIN_INCORRECT"},
		{"standard EC mechanism", append(login, "--sign", "--mechanism", "ECDSA", "--id", id, "--input-file", "msg"), "CKR_MECHANISM_INVALID"},
	} {
		if out, err := run(c.args...); err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%s: %v, want %s in\n%s", c.name, err, c.want, out)
		}
	}
}

// TestPKCS11C loads libmimapkcs11 from C (dlopen, C_GetFunctionList) and
// runs testdata/p11/p11test.c: every implemented function with good and
// bad arguments (bad handles, NULL pointers, wrong order, length queries,
// too small buffers), 4,000 mixed calls from 8 threads under valgrind, a
// login whose token is revoked (CKR_USER_NOT_LOGGED_IN) and a server
// sealed under an open session (CKR_DEVICE_ERROR) (issue 20).
func TestPKCS11C(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc is not installed (scripts/test installs it)")
	}
	dir := t.TempDir()
	lib := buildPKCS11(t, dir)
	src, err := filepath.Abs("testdata/p11/p11test.c")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "p11test")
	if out, err := exec.Command("gcc", "-Wall", "-Wextra", "-Werror", "-g", "-o", bin, src,
		"-I../../cmd/libmimapkcs11", "-ldl", "-lpthread").CombinedOutput(); err != nil {
		t.Fatalf("gcc p11test.c: %v\n%s", err, out)
	}
	c, env, app := p11Server(t, dir)
	ctx := context.Background()
	env = append(env, "MIMA_P11_PIN="+app.Token)

	if out, err := exec.Command(bin, lib, "all").CombinedOutput(); err == nil || !strings.Contains(string(out), "MIMA_P11_PIN") {
		t.Fatalf("p11test without a PIN: %v %s", err, out)
	}
	cmd := exec.Command(bin, lib, "all")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("p11test all: %v\n%s", err, out)
	}
	if k, err := c.Keys().Get(ctx, "p11-gen"); err != nil || k.Type != sdk.KeyTypeSM2 {
		t.Fatalf("C_GenerateKeyPair made no sm2 key p11-gen: %+v %v", k, err)
	}

	checkValgrind(t, env, bin, lib, "loop", "4000")
	p11Interop(t, c, env, bin, lib, dir)

	runPaused(t, env, func() {
		if err := c.Auth().RevokeToken(ctx, app.Accessor); err != nil {
			t.Fatal(err)
		}
	}, bin, lib, "revoked")

	app, err = c.Auth().CreateToken(ctx, sdk.TokenRequest{Policies: []string{"p11-app"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	runPaused(t, append(env, "MIMA_P11_PIN="+app.Token), func() {
		if err := c.Sys().Seal(ctx); err != nil {
			t.Fatal(err)
		}
	}, bin, lib, "sealed")
}

// p11Interop runs "p11test MODULE interop DIR": the module decrypts an
// SM4 ciphertext of mima's API and an SM2 one of OpenSSL, unwraps an SM4
// key that openssl pkeyutl wrapped to p11-enc and decrypts openssl enc
// -sm4-cbc's ciphertext with it; what it encrypts and signs, the API (SM4
// envelope, SM2 C1 || C3 || C2) and OpenSSL (SM2 DER, with the key
// exported from mima; the signature made in parts; CKM_SM4_CBC_PAD with
// a session key's value) decrypt and verify.
func p11Interop(t *testing.T, c *sdk.Client, env []string, bin, lib, dir string) {
	t.Helper()
	ctx := context.Background()
	msg := []byte("exchanged between PKCS#11, mima's API and OpenSSL")
	sm4, err := c.Crypto().Encrypt(ctx, "p11-kek", sdk.EncryptRequest{Plaintext: msg})
	if err != nil {
		t.Fatal(err)
	}
	encPub, err := c.Keys().PublicKeyPEM(ctx, "p11-enc", 0)
	if err != nil {
		t.Fatal(err)
	}
	signPub, err := c.Keys().PublicKeyPEM(ctx, "p11-sign", 0)
	if err != nil {
		t.Fatal(err)
	}
	interoptest.WriteFiles(t, dir, map[string][]byte{"msg": msg, "api-sm4.ct": []byte(sm4.Ciphertext), "enc.pem": []byte(encPub), "sign.pem": []byte(signPub)})
	interoptest.OpenSSL(t, dir, "pkeyutl", "-encrypt", "-pubin", "-inkey", "enc.pem", "-in", "msg", "-out", "openssl-sm2.der")
	// an SM4 key of OpenSSL's, wrapped by OpenSSL to p11-enc, and
	// OpenSSL's SM4-CBC (PKCS#7) ciphertext under it
	sm4Key, sm4IV := make([]byte, 16), make([]byte, 16)
	if _, err := rand.Read(sm4Key); err != nil {
		t.Fatal(err)
	}
	if _, err := rand.Read(sm4IV); err != nil {
		t.Fatal(err)
	}
	interoptest.WriteFiles(t, dir, map[string][]byte{"openssl-sm4.key": sm4Key, "openssl-sm4.iv": sm4IV})
	interoptest.OpenSSL(t, dir, "pkeyutl", "-encrypt", "-pubin", "-inkey", "enc.pem", "-in", "openssl-sm4.key", "-out", "openssl-sm4.key.der")
	interoptest.OpenSSL(t, dir, "enc", "-sm4-cbc", "-K", hex.EncodeToString(sm4Key), "-iv", hex.EncodeToString(sm4IV), "-in", "msg", "-out", "openssl-sm4.ct")
	cmd := exec.Command(bin, lib, "interop", dir)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("p11test interop: %v\n%s", err, out)
	}
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, name := range []string{"api-sm4.pt", "openssl-sm2.pt", "openssl-sm4.pt"} {
		if got := read(name); !bytes.Equal(got, msg) {
			t.Errorf("the module decrypted %s into %q", name, got)
		}
	}
	if pt := interoptest.OpenSSL(t, dir, "enc", "-d", "-sm4-cbc", "-K", hex.EncodeToString(read("p11-sm4.key")), "-iv", hex.EncodeToString(read("p11-sm4.iv")), "-in", "p11-sm4cbc.ct"); !bytes.Equal(pt, msg) {
		t.Errorf("openssl enc -d -sm4-cbc decrypts the module's CKM_SM4_CBC_PAD ciphertext into %q", pt)
	}
	raw := "mima:v1:" + base64.StdEncoding.EncodeToString(read("p11-sm2.raw"))
	for key, ct := range map[string]string{"p11-kek": string(read("p11-sm4.ct")), "p11-enc": raw} {
		if pt, err := c.Crypto().Decrypt(ctx, key, sdk.DecryptRequest{Ciphertext: ct}); err != nil || !bytes.Equal(pt.Plaintext, msg) {
			t.Errorf("the API decrypts the module's ciphertext under %s into %q, %v", key, pt.Plaintext, err)
		}
	}

	transport, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := smx509.MarshalPKIXPublicKey(&transport.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	exported, err := c.Keys().Export(ctx, "p11-enc", sdk.ExportRequest{PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}))})
	if err != nil {
		t.Fatal(err)
	}
	key, err := sdk.UnwrapExported(exported, transport)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := smx509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	interoptest.WriteFiles(t, dir, map[string][]byte{"enc-key.pem": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})})
	if pt := interoptest.OpenSSL(t, dir, "pkeyutl", "-decrypt", "-inkey", "enc-key.pem", "-in", "p11-sm2.der"); !bytes.Equal(pt, msg) {
		t.Errorf("openssl decrypts the module's CKM_SM2_CIPHER_DER into %q", pt)
	}
	if out := interoptest.OpenSSL(t, dir, "pkeyutl", "-verify", "-pubin", "-inkey", "sign.pem", "-rawin", "-in", "msg",
		"-sigfile", "p11.sig", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678"); !strings.Contains(string(out), "Signature Verified Successfully") {
		t.Errorf("openssl on the signature made in parts: %s", out)
	}
}
