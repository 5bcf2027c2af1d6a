package cms

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/interoptest"
)

// TestOpenSSLTimestamps has OpenSSL 3 make timestamp queries (SM3 and
// SHA-256), our TSA answer them, and OpenSSL print the replies: status,
// serial number, policy, nonce, TSA name and accuracy; and a rejection
// with its failure info. It also tries "openssl ts -verify", which
// OpenSSL 3.0 cannot pass for an SM2 TSA (see the log).
func TestOpenSSLTimestamps(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.tsa(t, "root", "tsa", func(r *TSARequest) { r.Accuracy = 500_000_000 })
	dir := t.TempDir()
	interoptest.WriteFiles(t, dir, map[string][]byte{"data.txt": []byte("hello, timestamp\n")})
	answer := func(query, reply string) {
		t.Helper()
		req, err := os.ReadFile(filepath.Join(dir, query))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.s.Timestamp(ctx, tenant, "tsa", req)
		if err != nil {
			t.Fatal(err)
		}
		interoptest.WriteFiles(t, dir, map[string][]byte{reply: resp})
	}
	interoptest.OpenSSL(t, dir, "ts", "-query", "-data", "data.txt", "-sm3", "-cert", "-out", "sm3.tsq")
	interoptest.OpenSSL(t, dir, "ts", "-query", "-data", "data.txt", "-sha256", "-no_nonce", "-out", "sha256.tsq")
	answer("sm3.tsq", "sm3.tsr")
	answer("sha256.tsq", "sha256.tsr")
	nonce := strings.TrimSpace(strings.SplitN(strings.SplitN(string(interoptest.OpenSSL(t, dir, "ts", "-query", "-in", "sm3.tsq", "-text")), "Nonce: ", 2)[1], "\n", 2)[0])

	for _, tc := range []struct {
		reply string
		want  []string
	}{
		{"sm3.tsr", []string{"Status: Granted.", "Serial number: 0x01", "Policy OID: " + DefaultPolicy, "Hash Algorithm: sm3",
			"Nonce: " + nonce, "TSA: DirName:/CN=tsa TSA", "Accuracy: unspecified seconds, 0x01F4 millis, unspecified micros"}},
		{"sha256.tsr", []string{"Status: Granted.", "Serial number: 0x02", "Hash Algorithm: sha256", "Nonce: unspecified"}},
	} {
		out := string(interoptest.OpenSSL(t, dir, "ts", "-reply", "-in", tc.reply, "-text"))
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("openssl ts -reply -in %s -text lacks %q:\n%s", tc.reply, w, out)
			}
		}
	}

	rejected, err := e.s.Timestamp(ctx, tenant, "tsa", query(t, nil, func(q *tsReq) { q.Version = 3 }))
	if err != nil {
		t.Fatal(err)
	}
	interoptest.WriteFiles(t, dir, map[string][]byte{"rejected.tsr": rejected})
	out := string(interoptest.OpenSSL(t, dir, "ts", "-reply", "-in", "rejected.tsr", "-text"))
	for _, w := range []string{"Status: Rejected.", "only version 1 requests are supported", "Failure info: transaction not permitted or supported"} {
		if !strings.Contains(out, w) {
			t.Errorf("the rejection lacks %q:\n%s", w, out)
		}
	}

	chain, err := e.s.TSACertificateChain(ctx, tenant, "tsa")
	if err != nil {
		t.Fatal(err)
	}
	certs, err := parseCertificatesPEM(chain)
	if err != nil {
		t.Fatal(err)
	}
	interoptest.WriteFiles(t, dir, map[string][]byte{"tsa.pem": []byte(pemOf(certs[0])), "root.pem": []byte(pemOf(certs[1]))})
	cmd := exec.Command("openssl", "ts", "-verify", "-in", "sm3.tsr", "-queryfile", "sm3.tsq", "-CAfile", "root.pem", "-untrusted", "tsa.pem")
	cmd.Dir = dir
	verify, err := cmd.CombinedOutput()
	t.Logf("openssl ts -verify (err %v):\n%s", err, verify)
}

// TestOpenSSLReadsSignedData has OpenSSL parse our SignedData: with RFC
// 5652 OIDs as CMS, finding the signer and its signed attributes; with
// GM/T 0010's, which OpenSSL's CMS does not know, as ASN.1. (OpenSSL 3.0
// cannot verify SM2 CMS signatures: it checks them without the SM2
// identity; BouncyCastle does, see TestBouncyCastle.)
func TestOpenSSLReadsSignedData(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.key(t, "root", "alice")
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		rfc  bool
		args []string
		want []string
	}{
		{"rfc.p7", true, []string{"cms", "-cmsout", "-print", "-inform", "DER"}, []string{"pkcs7-signedData", "signingTime", "messageDigest", "CN=alice", "sm3", "SM2-with-SM3"}},
		{"gm.p7", false, []string{"asn1parse", "-inform", "DER"}, []string{"1.2.156.10197.6.1.4.2.2", "1.2.156.10197.6.1.4.2.1", "1.2.156.10197.1.301.1", "signingTime"}},
	} {
		interoptest.WriteFiles(t, dir, map[string][]byte{tc.name: e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: []byte("x"), RFC5652: tc.rfc})})
		out := string(interoptest.OpenSSL(t, dir, append(tc.args, "-in", tc.name)...))
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: openssl %s lacks %q:\n%s", tc.name, tc.args[0], w, out)
			}
		}
	}
}
