package e2e

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/interoptest"
	"github.com/mimacrypto/mima/sdk"
)

// TestCAThroughCLIAndOpenSSL runs a two-level CA through the CLI and lets
// OpenSSL 3 act as the subscriber and relying party: its SM2 CSR is
// signed, it verifies the chain, it reads the CRL from the CRL
// distribution point and asks the OCSP responder, both public URLs of the
// running server.
func TestCAThroughCLIAndOpenSSL(t *testing.T) {
	dir := t.TempDir()
	srv, root, _ := initialised(t, filepath.Join(dir, "data"))
	pub := srv.addr + "/v1/pki/default/ca/"
	must(t, srv, root, "", "ca", "create-root", "root1", "--cn", "Hospital Root CA", "--ttl", "87600h")
	must(t, srv, root, "", "ca", "create-intermediate", "inter1", "--issuer", "root1", "--cn", "Hospital Issuing CA",
		"--crl-url", pub+"inter1/crl", "--ocsp-url", pub+"inter1/ocsp")

	interoptest.OpenSSL(t, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", "doctor.key")
	interoptest.OpenSSL(t, dir, "req", "-new", "-key", "doctor.key", "-sm3", "-sigopt", "distid:1234567812345678",
		"-subj", "/CN=doctor.example/O=Hospital", "-out", "doctor.csr")
	issue := func(out string) sdk.Certificate {
		t.Helper()
		var ct sdk.Certificate
		raw := must(t, srv, root, "", "ca", "sign-csr", "inter1", "--in", filepath.Join(dir, "doctor.csr"), "--format", "json")
		if err := json.Unmarshal([]byte(raw), &ct); err != nil {
			t.Fatal(err)
		}
		interoptest.WriteFiles(t, dir, map[string][]byte{out: []byte(ct.Certificate)})
		return ct
	}
	good, bad := issue("good.pem"), issue("bad.pem")

	// The chain, split into its two certificates, verifies link by link
	// (OpenSSL 3.0 applies distid only to the certificate it verifies).
	chain := must(t, srv, root, "", "ca", "chain", "inter1")
	inter, rest := pem.Decode([]byte(chain))
	rootBlock, _ := pem.Decode(rest)
	if inter == nil || rootBlock == nil {
		t.Fatalf("chain: %q", chain)
	}
	interoptest.WriteFiles(t, dir, map[string][]byte{"inter.pem": pem.EncodeToMemory(inter), "root.pem": pem.EncodeToMemory(rootBlock)})
	for _, args := range [][]string{
		{"-CAfile", "root.pem", "inter.pem"},
		{"-partial_chain", "-CAfile", "inter.pem", "good.pem"},
	} {
		out := interoptest.OpenSSL(t, dir, append([]string{"verify", "-vfyopt", "distid:1234567812345678"}, args...)...)
		if !strings.Contains(string(out), ": OK") {
			t.Fatalf("openssl verify %v: %s", args, out)
		}
	}

	must(t, srv, root, "", "ca", "revoke", "inter1", bad.Serial, "--reason", "keyCompromise")

	// The CRL at the distribution point lists the revoked serial.
	resp, err := http.Get(pub + "inter1/crl")
	if err != nil {
		t.Fatal(err)
	}
	crl, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pkix-crl" {
		t.Fatalf("CRL: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	interoptest.WriteFiles(t, dir, map[string][]byte{"inter.crl": crl})
	text := strings.ToUpper(string(interoptest.OpenSSL(t, dir, "crl", "-in", "inter.crl", "-inform", "DER", "-text", "-noout")))
	// OpenSSL prints the serial without leading zeros.
	if !strings.Contains(strings.ReplaceAll(text, ":", ""), strings.ToUpper(strings.TrimLeft(bad.Serial, "0"))) || !strings.Contains(text, "KEY COMPROMISE") {
		t.Fatalf("CRL does not list %s:\n%s", bad.Serial, text)
	}

	// OpenSSL's OCSP client gets good, then revoked, from the responder.
	for cert, want := range map[string]string{"good.pem": "good.pem: good", "bad.pem": "bad.pem: revoked"} {
		out := interoptest.OpenSSL(t, dir, "ocsp", "-issuer", "inter.pem", "-cert", cert, "-url", pub+"inter1/ocsp", "-resp_text", "-noverify")
		if !strings.Contains(string(out), want) {
			t.Fatalf("openssl ocsp for %s: %s", cert, out)
		}
	}

	var page struct{ Items []sdk.Certificate }
	if err := json.Unmarshal([]byte(must(t, srv, root, "", "cert", "list", "--ca", "inter1", "--state", "revoked", "--format", "json")), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Serial != bad.Serial {
		t.Fatalf("revoked certificates: %+v", page)
	}
	if good.Serial == bad.Serial || len(good.Serial) != 32 {
		t.Fatalf("serials %s %s", good.Serial, bad.Serial)
	}

	// mima bench drives CSR signing and OCSP against this server.
	for _, op := range []string{"sign-csr", "ocsp"} {
		var rep struct {
			Requests int `json:"requests"`
			Errors   int `json:"errors"`
		}
		out := must(t, srv, root, "", "bench", "--op", op, "--concurrency", "2", "--duration", "200ms", "--warmup", "0s", "--json")
		if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Requests == 0 || rep.Errors != 0 {
			t.Fatalf("bench %s: %s", op, out)
		}
	}
	srv.stop()
}
