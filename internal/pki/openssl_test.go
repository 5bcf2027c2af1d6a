package pki

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/interoptest"
)

// opensslRefuses runs an openssl command that must fail, in dir, and
// reports whether it did. Call it after interoptest.OpenSSL, which skips the
// test when OpenSSL is missing.
func opensslRefuses(t *testing.T, dir string, args ...string) bool {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Logf("openssl %s: %s", strings.Join(args, " "), out)
	}
	return err != nil
}

// opensslSerial is how OpenSSL prints a serial number of ours.
func opensslSerial(t *testing.T, c Certificate) string {
	t.Helper()
	return fmt.Sprintf("%X", parseCert(t, c.DER).SerialNumber.Bytes())
}

// TestOpenSSLVerifiesChain has OpenSSL 3 verify root -> intermediate ->
// leaf, with the SM2 identity every mima signature uses, one link at a
// time: OpenSSL 3.0 applies -vfyopt distid to the target certificate only
// and checks an intermediate's SM2 signature with an empty identity, so
// "verify -CAfile root.pem -untrusted inter.pem leaf.pem" fails at depth 1
// for any SM2 chain, one OpenSSL makes itself included. BouncyCastle
// builds the whole path at once (TestBouncyCastle).
func TestOpenSSLVerifiesChain(t *testing.T) {
	e := newEnv(t)
	root := e.root(t, "root")
	inter := e.intermediate(t, "root", "issuing")
	leaf, _ := e.signCSR(t, "issuing", "www.example.com", "www.example.com")
	dir := t.TempDir()
	interoptest.WriteFiles(t, dir, map[string][]byte{
		"root.pem": []byte(pemCert(root.Certificate)), "inter.pem": []byte(pemCert(inter.Certificate)),
		"leaf.pem": []byte(leaf.PEM()), "stranger.pem": []byte(pemCert(e.root(t, "stranger").Certificate)),
	})
	for _, link := range [][]string{
		{"-CAfile", "root.pem", "inter.pem"},
		{"-partial_chain", "-CAfile", "inter.pem", "leaf.pem"},
	} {
		args := append([]string{"verify", "-vfyopt", "distid:1234567812345678"}, link...)
		if out := string(interoptest.OpenSSL(t, dir, args...)); !strings.Contains(out, link[len(link)-1]+": OK") {
			t.Errorf("openssl %s: %s", strings.Join(args, " "), out)
		}
	}
	if !opensslRefuses(t, dir, "verify", "-vfyopt", "distid:1234567812345678", "-CAfile", "stranger.pem", "inter.pem") {
		t.Error("openssl verifies the intermediate under an unrelated root")
	}
	if !opensslRefuses(t, dir, "verify", "-CAfile", "root.pem", "inter.pem") {
		t.Error("openssl verifies without the SM2 identity, so the test proves nothing")
	}
	text := string(interoptest.OpenSSL(t, dir, "x509", "-in", "leaf.pem", "-noout", "-text"))
	for _, want := range []string{"SM2-with-SM3", "OCSP - URI:" + testConfig.OCSPURL, "URI:" + testConfig.CRLURL, "DNS:www.example.com", "TLS Web Server Authentication"} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl x509 -text lacks %q:\n%s", want, text)
		}
	}
}

// TestOpenSSLReadsCRL has OpenSSL parse a CRL with a revoked serial.
func TestOpenSSLReadsCRL(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	leaf, _ := e.signCSR(t, "root", "revoked")
	if _, err := e.s.Revoke(ctx, tenant, leaf.Serial, KeyCompromise); err != nil {
		t.Fatal(err)
	}
	der, err := e.s.CRL(ctx, tenant, "root")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	interoptest.WriteFiles(t, dir, map[string][]byte{"crl.der": der})
	out := string(interoptest.OpenSSL(t, dir, "crl", "-in", "crl.der", "-inform", "DER", "-text", "-noout"))
	for _, want := range []string{"Serial Number: " + opensslSerial(t, leaf), "Key Compromise", "X509v3 CRL Number: \n                2", "SM2-with-SM3"} {
		if !strings.Contains(out, want) {
			t.Errorf("openssl crl -text lacks %q:\n%s", want, out)
		}
	}
}

// TestOpenSSLCSRs has the CA accept CSRs that OpenSSL 3 makes for SM2
// keys, with the default identity 1234567812345678 or with the empty
// identity OpenSSL 3 signs with when not told -sigopt distid (saying which
// in the certificate's csr_identity), and refuse one signed under another
// identity with a message naming the OpenSSL option.
func TestOpenSSLCSRs(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		cmds     [][]string
		identity string // "" when refused
	}{
		{"genpkey then req", [][]string{
			{"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", "k1.pem"},
			{"req", "-new", "-key", "k1.pem", "-sm3", "-sigopt", "distid:1234567812345678", "-subj", "/CN=openssl.example.com/O=Acme", "-addext", "subjectAltName=DNS:openssl.example.com", "-out", "csr.pem"},
		}, CSRIdentityDefault},
		{"req -newkey sm2", [][]string{
			{"req", "-new", "-newkey", "sm2", "-nodes", "-keyout", "k2.pem", "-sm3", "-sigopt", "distid:1234567812345678", "-subj", "/CN=newkey.example.com", "-out", "csr.pem"},
		}, CSRIdentityDefault},
		{"no distid: OpenSSL 3's empty identity", [][]string{
			{"req", "-new", "-key", "k1.pem", "-sm3", "-subj", "/CN=plain.example.com", "-out", "csr.pem"},
		}, CSRIdentityEmpty},
		{"another identity", [][]string{
			{"req", "-new", "-key", "k1.pem", "-sm3", "-sigopt", "distid:alice@example.com", "-subj", "/CN=alice", "-out", "csr.pem"},
		}, ""},
	} {
		for _, args := range tc.cmds {
			interoptest.OpenSSL(t, dir, args...)
		}
		csr, err := os.ReadFile(filepath.Join(dir, "csr.pem"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := e.s.SignCSR(ctx, tenant, "root", SignCSRRequest{CSR: csr})
		if tc.identity == "" {
			wantCode(t, tc.name, err, "csr_invalid")
			if err == nil || !strings.Contains(err.Error(), "-sigopt distid:1234567812345678") {
				t.Errorf("%s: the refusal does not name the OpenSSL option: %v", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.CSRIdentity != tc.identity {
			t.Errorf("%s: csr_identity %q, want %q", tc.name, c.CSRIdentity, tc.identity)
		}
		interoptest.WriteFiles(t, dir, map[string][]byte{"cert.pem": []byte(c.PEM())})
		if out := string(interoptest.OpenSSL(t, dir, "x509", "-in", "cert.pem", "-noout", "-subject")); !strings.Contains(out, "example.com") {
			t.Errorf("%s: issued subject %s", tc.name, out)
		}
	}
}

// ocspServer serves RespondOCSP for one CA over HTTP POST, as the API
// does.
func ocspServer(t *testing.T, e *env, ca string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := e.s.RespondOCSP(r.Context(), tenant, ca, req)
		if err != nil {
			t.Errorf("RespondOCSP: %v", err)
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(resp)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestOpenSSLOCSP has OpenSSL ask the responder about good, revoked and
// unknown certificates, with SHA-1, SHA-256 and SM3 CertIDs. OpenSSL 3.0
// cannot verify the SM2 signature of the answer (-noverify);
// TestBouncyCastle does.
func TestOpenSSLOCSP(t *testing.T) {
	e := newEnv(t)
	root := e.root(t, "root")
	good, _ := e.signCSR(t, "root", "good")
	revoked, _ := e.signCSR(t, "root", "revoked")
	if _, err := e.s.Revoke(ctx, tenant, revoked.Serial, Superseded); err != nil {
		t.Fatal(err)
	}
	e.root(t, "other")
	stranger, _ := e.signCSR(t, "other", "stranger")
	srv := ocspServer(t, e, "root")
	dir := t.TempDir()
	interoptest.WriteFiles(t, dir, map[string][]byte{"ca.pem": []byte(pemCert(root.Certificate))})
	for _, tc := range []struct {
		cert   Certificate
		digest string
		want   []string
	}{
		{good, "-sha1", []string{"leaf.pem: good", "Response Status: successful", "OCSP Nonce", "Responder Id: C = CN, O = Acme, CN = root Root CA"}},
		{good, "-sha256", []string{"leaf.pem: good", "Hash Algorithm: sha256"}},
		{good, "-sm3", []string{"leaf.pem: good", "Hash Algorithm: sm3"}},
		{revoked, "-sha1", []string{"leaf.pem: revoked", "Reason: superseded"}},
		{stranger, "-sha1", []string{"leaf.pem: unknown"}},
	} {
		interoptest.WriteFiles(t, dir, map[string][]byte{"leaf.pem": []byte(tc.cert.PEM())})
		out := string(interoptest.OpenSSL(t, dir, "ocsp", "-issuer", "ca.pem", tc.digest, "-cert", "leaf.pem", "-url", srv.URL+"/ocsp", "-resp_text", "-noverify"))
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s %s: the answer lacks %q:\n%s", tc.cert.Subject, tc.digest, w, out)
			}
		}
	}
}
