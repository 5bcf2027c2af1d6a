package e2e

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/mimacrypto/mima/internal/interoptest"
	"github.com/mimacrypto/mima/sdk"
)

// buildSDF builds libmimasdf.so with sdf.h and the C test program
// testdata/sdf/sdftest.c into dir (gcc; issue 20).
func buildSDF(t *testing.T, dir string) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc is not installed (scripts/test installs it)")
	}
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	src, err := filepath.Abs("testdata/sdf/sdftest.c")
	if err != nil {
		t.Fatal(err)
	}
	header, err := os.ReadFile("../../cmd/libmimasdf/sdf.h")
	if err != nil {
		t.Fatal(err)
	}
	interoptest.WriteFiles(t, dir, map[string][]byte{"sdf.h": header})
	run("go", "build", "-buildmode=c-shared", "-o", filepath.Join(dir, "libmimasdf.so"), "github.com/mimacrypto/mima/cmd/libmimasdf")
	run("gcc", "-Wall", "-Wextra", "-Werror", "-g", "-o", filepath.Join(dir, "sdftest"), src, "-I"+dir, "-L"+dir, "-lmimasdf", "-lpthread", "-Wl,-rpath,"+dir)
	return filepath.Join(dir, "sdftest")
}

// sdfSetup is a dev server with the keys of sdftest.c and the
// configuration sdftest runs with.
type sdfSetup struct {
	srv      *server
	root     *sdk.Client // the root token's client
	env      []string    // sdftest's environment
	token    string      // the configured token
	accessor string      // its accessor
}

// sdfServer starts a dev server with the keys of sdftest.c and writes its
// configuration into dir.
func sdfServer(t *testing.T, dir string) sdfSetup {
	t.Helper()
	srv, root := devServer(t)
	c, ctx := srv.client(t, root), context.Background()
	for name, typ := range map[string]sdk.KeyType{"sdf-sign": "sm2", "sdf-enc": "sm2", "sdf-kek": "sm4"} {
		if _, err := c.Keys().Create(ctx, sdk.CreateKeyRequest{Name: name, Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Auth().PutPolicy(ctx, "sdf-app", []sdk.Rule{{Operations: []string{"*"}, Objects: []string{"*"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Auth().PutPolicy(ctx, "sdf-signer", []sdk.Rule{{Operations: []string{"sign", "keys.read", "keys.public"}, Objects: []string{"sdf-sign"}}}); err != nil {
		t.Fatal(err)
	}
	app, err := c.Auth().CreateToken(ctx, sdk.TokenRequest{Policies: []string{"sdf-app"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := c.Auth().CreateToken(ctx, sdk.TokenRequest{Policies: []string{"sdf-signer"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]any{
		"address": srv.addr, "token": app.Token,
		"keys": map[string]string{"1": "sdf-sign", "2": "sdf-enc", "3": "sdf-kek", "9": "no-such-key"},
	})
	file := filepath.Join(dir, "sdf.json")
	interoptest.WriteFiles(t, dir, map[string][]byte{"sdf.json": cfg})
	env := append(os.Environ(), "MIMA_SDF_CONFIG="+file, "MIMA_SDF_SIGNER="+signer.Token, "MIMA_ADDR=", "MIMA_TOKEN=")
	return sdfSetup{srv: srv, root: c, env: env, token: app.Token, accessor: app.Accessor}
}

// runSDF runs sdftest with args and returns its output; it fails the
// test when sdftest reports a failure.
func runSDF(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sdftest %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// TestSDFLibrary runs every function of libmimasdf from C against a dev
// server, with the error paths (bad handles and indexes, wrong algorithms,
// revoked token, sealed server), and checks a signature made through SDF
// with mima's API and OpenSSL (issue 20).
func TestSDFLibrary(t *testing.T) {
	dir := t.TempDir()
	bin := buildSDF(t, dir)
	setup := sdfServer(t, dir)
	c, env, accessor, ctx := setup.root, setup.env, setup.accessor, context.Background()

	out := runSDF(t, bin, env, "all")
	v := map[string]string{}
	for line := range strings.Lines(out) {
		if k, val, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			v[k] = val
		}
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, k := range []string{"sigr", "sigs"} {
			n, ok := new(big.Int).SetString(v[k], 16)
			if !ok {
				t.Fatalf("sdftest printed %s=%q", k, v[k])
			}
			b.AddASN1BigInt(n)
		}
	})
	der := b.BytesOrPanic()
	res, err := c.Crypto().Verify(ctx, "sdf-sign", sdk.VerifyRequest{Input: []byte(v["msg"]), Signature: der})
	if err != nil || !res.Valid {
		t.Fatalf("the API does not verify the SDF signature: %+v %v", res, err)
	}
	x, _ := hex.DecodeString(v["pub"])
	y, _ := hex.DecodeString(v["puby"])
	pub, err := sm2.NewPublicKey(append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatalf("exported public key: %v", err)
	}
	pem, err := c.Keys().PublicKeyPEM(ctx, "sdf-sign", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !sm2.VerifyASN1WithSM2(pub, nil, []byte(v["msg"]), der) {
		t.Fatal("the exported public key does not verify the signature")
	}
	interoptest.WriteFiles(t, dir, map[string][]byte{"sig.der": der, "pub.pem": []byte(pem), "msg": []byte(v["msg"])})
	ossl := interoptest.OpenSSL(t, dir, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
		"-sigfile", "sig.der", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678")
	if !strings.Contains(string(ossl), "Signature Verified Successfully") {
		t.Fatalf("openssl: %s", ossl)
	}

	checkValgrind(t, env, bin, "loop", "10000")

	// A revoked token: SDR_PARDENY. The sealed run uses another token.
	if err := c.Auth().RevokeToken(ctx, accessor); err != nil {
		t.Fatal(err)
	}
	runSDF(t, bin, env, "revoked")
	app, err := c.Auth().CreateToken(ctx, sdk.TokenRequest{Policies: []string{"sdf-app"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	env = append(env, "MIMA_TOKEN="+app.Token)

	// Sealed: sessions open before sealing get SDR_HARDFAIL, a new device
	// SDR_OPENDEVICE.
	runPaused(t, env, func() {
		if err := c.Sys().Seal(ctx); err != nil {
			t.Fatal(err)
		}
	}, bin, "sealed")
}

// runPaused runs a C test program until it prints "ready", calls act (it
// revokes a token, seals the server), then lets the program go on and
// fails the test when it reports a failure.
func runPaused(t *testing.T, env []string, act func(), bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("%s %v: %q %s", filepath.Base(bin), args, line, stderr.String())
	}
	act()
	_, _ = stdin.Write([]byte("go\n"))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(bin), args, err, stderr.String())
	}
}

// checkValgrind runs bin with args (a loop of mixed calls from several
// threads) under valgrind: no C memory is read or written out of bounds
// and none leaks. The Go runtime's own stacks and heap (anonymous mappings
// valgrind does not know) draw reports that say "in a rw- anonymous
// segment". Go's asynchronous preemption is off for the run: its signal
// handler (runtime.asyncPreempt) saves registers below the stack pointer
// of a goroutine stack, which valgrind, having lost track of the switch
// to that stack, reported now and then as a fault on the C main thread's
// stack (seen in one run in about fifteen, every report in
// runtime.asyncPreempt). Any other address (a heap block, a thread's
// stack) is a fault of the library.
func checkValgrind(t *testing.T, env []string, bin string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("valgrind"); err != nil {
		t.Log("valgrind is not installed (scripts/test installs it): memory checks skipped")
		return
	}
	cmd := exec.Command("valgrind", append([]string{"--leak-check=full", "--undef-value-errors=no", bin}, args...)...)
	cmd.Env = append(env[:len(env):len(env)], "GODEBUG=asyncpreemptoff=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("valgrind %s %v: %v\n%s", filepath.Base(bin), args, err, out)
	}
	report := string(out)
	for line := range strings.Lines(report) {
		if _, addr, ok := strings.Cut(line, "Address 0x"); ok && !strings.Contains(addr, "in a rw- anonymous segment") {
			t.Errorf("valgrind: %s", strings.TrimSpace(line))
		}
	}
	for _, want := range []string{"definitely lost: 0 bytes", "indirectly lost: 0 bytes"} {
		if !strings.Contains(report, want) && !strings.Contains(report, "All heap blocks were freed") {
			t.Errorf("valgrind: no %q in\n%s", want, report[max(0, len(report)-2000):])
		}
	}
}
