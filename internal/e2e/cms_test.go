package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/interoptest"
	"github.com/mimacrypto/mima/sdk"
)

// TestSignaturesThatHoldUp signs a record through the CLI with a
// timestamp, revokes the signer afterwards and still verifies the
// signature at its timestamp; a changed record fails on its digest; a
// timestamp reply is read by OpenSSL; a certificate holder logs in.
func TestSignaturesThatHoldUp(t *testing.T) {
	dir := t.TempDir()
	srv, root, _ := initialised(t, filepath.Join(dir, "data"))
	ctx := context.Background()
	must(t, srv, root, "", "ca", "create-root", "root1", "--cn", "Hospital Root CA")
	must(t, srv, root, "", "key", "create", "doctor", "--type", "sm2")
	var cert sdk.Certificate
	if err := json.Unmarshal([]byte(must(t, srv, root, "", "ca", "issue", "root1", "--key", "doctor", "--cn", "Dr. Li", "--format", "json")), &cert); err != nil {
		t.Fatal(err)
	}
	must(t, srv, root, "", "tsa", "create", "default", "--ca", "root1", "--accuracy", "1s")
	if out := must(t, srv, root, "", "tsa", "list"); !strings.Contains(out, "NAME") || !strings.Contains(out, "default") {
		t.Fatalf("tsa list: %s", out)
	}
	record := filepath.Join(dir, "record.txt")
	interoptest.WriteFiles(t, dir, map[string][]byte{"record.txt": []byte("diagnosis: influenza"), "altered.txt": []byte("diagnosis: influenzA")})
	p7 := filepath.Join(dir, "record.p7")
	must(t, srv, root, "", "cms", "sign", "--key", "doctor", "--tsa", "default", "--detached", "--in", record, "--out", p7)

	verify := func(content string) (sdk.CMSVerifyReport, int) {
		r := cli(t, srv.addr, root, "cms", "verify", "--in", p7, "--content", content, "--trust-ca", "root1", "--format", "json")
		var rep sdk.CMSVerifyReport
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("verify: %v: %s %s", err, r.stdout, r.stderr)
		}
		return rep, r.code
	}
	fresh, code := verify(record)
	if code != 0 || !fresh.Valid || fresh.Signers[0].Timestamp == nil || !fresh.Signers[0].Timestamp.Valid {
		t.Fatalf("fresh signature: exit %d %+v", code, fresh)
	}
	// The verifier judges at the timestamp's time plus its accuracy (1s
	// here, so that a wait too short always fails), and a CRL states
	// revocation times in whole seconds: the revocation must fall in a
	// second that starts after that moment for the order to show. This
	// waits for the server's wall clock, which the test cannot set.
	for judged := fresh.Signers[0].EvaluatedAt; !time.Now().Truncate(time.Second).After(judged); {
		time.Sleep(50 * time.Millisecond)
	}
	must(t, srv, root, "", "ca", "revoke", "root1", cert.Serial, "--reason", "keyCompromise")
	rep, code := verify(record)
	if code != 0 || !rep.Valid || rep.Signers[0].Revocation.Status != "revoked" {
		t.Fatalf("after a later revocation the signature must hold at its timestamp, with the revocation reported: exit %d %+v", code, rep.Signers)
	}
	rep, code = verify(filepath.Join(dir, "altered.txt"))
	if code != 2 || rep.Valid || !strings.Contains(strings.Join(rep.Signers[0].Reasons, " "), "content_digest_mismatch") {
		t.Fatalf("altered record: exit %d %+v", code, rep.Signers)
	}

	// A timestamp of the record, read by OpenSSL and verified by mima.
	tsr := filepath.Join(dir, "record.tsr")
	must(t, srv, root, "", "ts", "request", "--in", record, "--out", tsr)
	text := string(interoptest.OpenSSL(t, dir, "ts", "-reply", "-in", "record.tsr", "-text"))
	if !strings.Contains(text, "Status: Granted") || !strings.Contains(text, "Nonce:") {
		t.Fatalf("openssl ts -reply:\n%s", text)
	}
	must(t, srv, root, "", "ts", "verify", "--in", tsr, "--data-file", record, "--trust-ca", "root1")

	// A certificate holder (its key made here, as on a USB key) logs in.
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := smx509.CreateCertificateRequest(rand.Reader, &smx509.CertificateRequest{Subject: pkixName("nurse.example")}, priv)
	interoptest.WriteFiles(t, dir, map[string][]byte{"nurse.csr": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})})
	must(t, srv, root, "", "ca", "sign-csr", "root1", "--in", filepath.Join(dir, "nurse.csr"), "--out", filepath.Join(dir, "nurse.pem"))
	keyDER, _ := smx509.MarshalPKCS8PrivateKey(priv)
	interoptest.WriteFiles(t, dir, map[string][]byte{"nurse.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})})
	must(t, srv, root, "", "login-rule", "write", "staff", "--pattern", "*nurse.example*", "--ca", "root1", "--policy", "admin", "--ttl", "1h")
	if out := must(t, srv, root, "", "login-rule", "list", "--format", "json"); !strings.Contains(out, `"items"`) || !strings.Contains(out, `"staff"`) {
		t.Fatalf("login-rule list: %s", out)
	}
	var res sdk.LoginResult
	out := must(t, srv, "", "", "login", "--tenant", "default", "--cert", filepath.Join(dir, "nurse.pem"), "--key", filepath.Join(dir, "nurse.key"), "--format", "json")
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Token == "" || res.Rule != "staff" {
		t.Fatalf("login: %v %s", err, out)
	}
	if self, err := srv.client(t, res.Token).Auth().LookupSelf(ctx); err != nil || self.Tenant != "default" {
		t.Fatalf("the login token: %+v, %v", self, err)
	}

	// mima bench drives CMS signing and timestamps against this server.
	for _, op := range []string{"cms-sign", "timestamp"} {
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
