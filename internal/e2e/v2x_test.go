package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/sdk"
)

// TestV2XThroughCLI runs a V2X deployment with the CLI: the operator
// creates it across seven tenants, the ECA allows two vehicles, each
// enrols and gets a week of pseudonym certificates over HTTP (COER), one
// signs a basic safety message the other verifies, the MA revokes the
// signer, and the other vehicle then refuses its message.
func TestV2XThroughCLI(t *testing.T) {
	dir := t.TempDir()
	srv, root, _ := initialised(t, filepath.Join(dir, "data"))
	tokens := map[string]string{}
	for _, role := range []string{"root", "eca", "ra", "la1", "la2", "pca", "ma"} {
		var tc sdk.TenantCreated
		cliJSON(t, srv.addr, root, &tc, "tenant", "create", "v2x-"+role)
		tokens[role] = tc.Token
	}
	var dep sdk.V2XDeployment
	cliJSON(t, srv.addr, root, &dep, "v2x", "create", "cn", "--root", "v2x-root", "--eca", "v2x-eca", "--ra", "v2x-ra",
		"--la1", "v2x-la1", "--la2", "v2x-la2", "--pca", "v2x-pca", "--ma", "v2x-ma", "--country", "156")
	if len(dep.RootPin) != 16 || dep.Profile != "cn" {
		t.Fatalf("deployment %+v", dep)
	}
	must(t, srv, tokens["eca"], "", "v2x", "allow", "cn", "VIN-A", "VIN-B")

	state := func(v string) string { return filepath.Join(dir, v+".json") }
	for _, v := range []string{"VIN-A", "VIN-B"} {
		// Devices need no token.
		out := must(t, srv, "", "", "v2x", "enroll", "--state", state(v), "--deployment", "cn", "--id", v, "--root-pin", dep.RootPin)
		if !strings.Contains(out, "enrolled "+v) {
			t.Fatalf("enroll: %s", out)
		}
		must(t, srv, "", "", "v2x", "request-pseudonyms", "--state", state(v))
	}
	if r := cli(t, srv.addr, "", "v2x", "download", "--state", state("VIN-A")); r.code == 0 || !strings.Contains(r.stderr, "v2x_download_not_ready") {
		t.Fatalf("download before the flush: exit %d %s", r.code, r.stderr)
	}
	must(t, srv, tokens["ra"], "", "v2x", "flush", "cn")
	for _, v := range []string{"VIN-A", "VIN-B"} {
		if out := must(t, srv, "", "", "v2x", "download", "--state", state(v)); !strings.Contains(out, ": 20 certificates") {
			t.Fatalf("download: %s", out)
		}
	}

	bsm, spdu := filepath.Join(dir, "bsm.txt"), filepath.Join(dir, "bsm.oer")
	if err := os.WriteFile(bsm, []byte("BSM 39.9042N 116.4074E heading 90 speed 12"), 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, srv, "", "", "v2x", "sign", "--state", state("VIN-A"), "--in", bsm, "--out", spdu)
	if out := must(t, srv, "", "", "v2x", "verify", "--state", state("VIN-B"), "--in", spdu, "--psid", "32", "--max-age", "1m"); !strings.HasPrefix(out, "OK") {
		t.Fatalf("verify: %s", out)
	}
	if r := cli(t, srv.addr, "", "v2x", "check-revoked", "--state", state("VIN-B"), "--in", spdu); r.code != 0 {
		t.Fatalf("check-revoked before the report: exit %d %s %s", r.code, r.stdout, r.stderr)
	}

	var rev sdk.V2XRevocation
	cliJSON(t, srv.addr, tokens["ma"], &rev, "v2x", "report", "cn", "--in", spdu)
	if rev.Kind != "pseudonym" || rev.Enrolment == "" {
		t.Fatalf("revocation %+v", rev)
	}
	if r := cli(t, srv.addr, "", "v2x", "verify", "--state", state("VIN-B"), "--in", spdu, "--psid", "32"); r.code != 2 || !strings.Contains(r.stdout, "revoked") {
		t.Fatalf("verify after the report: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := cli(t, srv.addr, "", "v2x", "check-revoked", "--state", state("VIN-B"), "--in", spdu); r.code != 2 {
		t.Fatalf("check-revoked after the report: exit %d %s", r.code, r.stdout)
	}
	if r := cli(t, srv.addr, "", "v2x", "request-pseudonyms", "--state", state("VIN-A")); r.code == 0 || !strings.Contains(r.stderr, "v2x_device_blocked") {
		t.Fatalf("revoked vehicle's request: exit %d %s", r.code, r.stderr)
	}
	// Another tenant's operator cannot act for the MA.
	if r := cli(t, srv.addr, tokens["ra"], "v2x", "report", "cn", "--in", spdu); r.code == 0 {
		t.Fatal("the RA's tenant reported a device")
	}
	// The device messages are audited like every request.
	if exported := must(t, srv, root, "", "audit", "export"); !strings.Contains(exported, `"operation":"v2x.enrol"`) || !strings.Contains(exported, `"operation":"v2x.report"`) {
		t.Fatal("V2X requests are missing from the audit log")
	}
}
