package cms

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/interoptest"
)

// TestBouncyCastle has BouncyCastle verify our SignedData in both OID
// sets (signers, a countersigner, a signature timestamp), a detached
// SignedData and a TimeStampResp; then verifies the SignedData and the
// timestamp BouncyCastle makes with an SM2 key of its own.
func TestBouncyCastle(t *testing.T) {
	bc := interoptest.BouncyCastle(t)
	e := newEnv(t)
	e.root(t, "root")
	e.intermediate(t, "root", "issuing")
	e.key(t, "issuing", "alice")
	e.key(t, "root", "notary")
	a := e.tsa(t, "root", "tsa")
	content := []byte("signed for BouncyCastle")
	gm := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice", IncludeChain: true}, Content: content})
	rfc := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice", TSA: "tsa"}, Content: content, RFC5652: true})
	rfc, err := e.s.CounterSign(ctx, tenant, CounterSignRequest{SignerOptions: SignerOptions{Key: "notary"}, CMS: rfc})
	if err != nil {
		t.Fatal(err)
	}
	detached := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: content, Detached: true, RFC5652: true})
	tsq := query(t, content)
	tsr, err := e.s.Timestamp(ctx, tenant, "tsa", tsq)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	interoptest.WriteFiles(t, dir, map[string][]byte{
		"content.bin": content, "gm.p7": gm, "rfc.p7": rfc, "detached.p7": detached, "ts.tsq": tsq, "ts.tsr": tsr,
	})

	out := bc.Run(t, filepath.Join("testdata", "java", "CmsCheck.java"), "CmsCheck", dir)
	t.Logf("BouncyCastle:\n%s", out)
	tsaCert := parse(t, mustCertificate(t, e, a.Certificate))
	critical := false
	for _, x := range tsaCert.Extensions {
		critical = critical || x.Id.Equal(oidExtKeyUsage) && x.Critical
	}
	if !critical {
		t.Fatal("the TSA certificate's extended key usage is not critical (RFC 3161 section 2.3)")
	}
	const validate = "validate OK" // BouncyCastle's TimeStampToken.validate, which demands the critical EKU
	for _, want := range []string{
		"cms OK: gm.p7 1 signer(s), 1.2.156.10197.1.301.1\n",
		"cms OK: rfc.p7 1 signer(s), 1.2.156.10197.1.501, countersignature OK, signature timestamp signature and ESSCertIDv2 (SM3) OK, " + validate,
		"cms OK: detached.p7",
		fmt.Sprintf("tsr OK: granted, serial 2, policy %s, nonce %d, 1.2.156.10197.1.401, signature and ESSCertIDv2 (SM3) OK, %s", DefaultPolicy, 0x1234_5678_9abc, validate),
		"bc OK: wrote",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("BouncyCastle output lacks %q", want)
		}
	}

	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	trust := TrustAnchors{PEM: string(read("bc-ca.pem"))}
	for _, req := range []VerifyRequest{
		{CMS: read("bc-signed.p7"), TrustAnchors: trust},
		{CMS: read("bc-detached.p7"), Content: content, TrustAnchors: trust},
	} {
		r := e.verify(t, req)
		if !r.Valid || r.Signers[0].Certificate.Subject != "CN=BC Signer" || r.Signers[0].SigningTime.IsZero() {
			t.Errorf("BouncyCastle's SignedData: %+v", r)
		}
	}
	rep, err := e.s.VerifyTimestamp(ctx, tenant, TimestampVerifyRequest{Token: read("bc.tsr"), Data: content, TrustAnchors: TrustAnchors{PEM: string(read("bc-tsa.pem"))}})
	if err != nil || !rep.Valid || rep.Serial != "7" || rep.Policy != "1.2.3.4.1" || rep.Nonce != "2a" || rep.HashAlgorithm != "sm3" {
		t.Errorf("BouncyCastle's timestamp: %+v, %v", rep, err)
	}
}

var oidExtKeyUsage = []int{2, 5, 29, 37}

// mustCertificate returns the DER of a certificate of the CA.
func mustCertificate(t testing.TB, e *env, serial string) []byte {
	t.Helper()
	c, err := e.ca.GetCertificate(ctx, tenant, serial)
	if err != nil {
		t.Fatal(err)
	}
	return c.DER
}
