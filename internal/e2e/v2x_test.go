package e2e

import (
	"encoding/asn1"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
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
	// A deployment made by this version needs no migration: migrate
	// changes nothing, and only the root token may run it.
	var migrated sdk.V2XDeployment
	cliJSON(t, srv.addr, root, &migrated, "v2x", "migrate", "cn")
	if migrated.RootPin != dep.RootPin || migrated.SigningInput != "gbt45112-2024" {
		t.Fatalf("migrate of a current deployment: %+v", migrated)
	}
	if r := cli(t, srv.addr, tokens["root"], "v2x", "migrate", "cn"); r.code == 0 {
		t.Fatal("a tenant token migrated the deployment")
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
	checkGBT45112Signature(t, spdu)
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

// TestV2XRemoteLAs runs a deployment whose LAs are standalone LAs of
// another mima cluster, each in a tenant of its own operator there: the
// deployment's cluster reaches them over the API with their tokens, which
// it never shows back. Vehicles get pseudonyms, one is reported and
// revoked through the remote LAs' seeds; an LA that does not exist is
// v2x_la_unavailable.
func TestV2XRemoteLAs(t *testing.T) {
	dir := t.TempDir()
	home, homeRoot, _ := initialised(t, filepath.Join(dir, "home"))
	away, awayRoot, _ := initialised(t, filepath.Join(dir, "away"))
	tokens := map[string]string{}
	for _, role := range []string{"root", "eca", "ra", "pca", "ma"} {
		var tc sdk.TenantCreated
		cliJSON(t, home.addr, homeRoot, &tc, "tenant", "create", "v2x-"+role)
		tokens[role] = tc.Token
	}
	laFlags := []string{}
	for _, la := range []string{"la1", "la2"} {
		var tc sdk.TenantCreated
		cliJSON(t, away.addr, awayRoot, &tc, "tenant", "create", "org-"+la)
		tokens[la] = tc.Token
		// The deployment gets a token that may only ask the LA.
		must(t, away, tc.Token, "", "policy", "write", "peer", "--rule", "v2x.la.pre-linkage,v2x.la.seed:cn-"+la)
		var peer sdk.TokenCreated
		cliJSON(t, away.addr, tc.Token, &peer, "token", "create", "--policy", "peer")
		tokens[la+"-peer"] = peer.Token
		f := filepath.Join(dir, la+".token")
		if err := os.WriteFile(f, []byte(peer.Token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		laFlags = append(laFlags, "--"+la+"-url", away.addr, "--"+la+"-token-file", f)
	}
	var dep sdk.V2XDeployment
	cliJSON(t, home.addr, homeRoot, &dep, append([]string{"v2x", "create", "cn", "--root", "v2x-root", "--eca", "v2x-eca",
		"--ra", "v2x-ra", "--pca", "v2x-pca", "--ma", "v2x-ma"}, laFlags...)...)
	if dep.RemoteLA1 == nil || dep.RemoteLA1.Name != "cn-la1" || dep.RemoteLA1.Token != "" {
		t.Fatalf("remote LA1 shown as %+v", dep.RemoteLA1)
	}
	if out := must(t, home, homeRoot, "", "v2x", "show", "cn", "--format", "json"); strings.Contains(out, tokens["la1-peer"]) || strings.Contains(out, tokens["la2-peer"]) {
		t.Fatal("the deployment shows a remote LA's token")
	}
	pca := filepath.Join(dir, "pca.oer")
	if err := os.WriteFile(pca, dep.Certificates["pca"], 0o600); err != nil {
		t.Fatal(err)
	}
	if r := cli(t, away.addr, tokens["la1-peer"], "v2x", "la", "create", "cn-la1", "--id", "0001", "--pca-cert", pca); r.code == 0 || !strings.Contains(r.stderr, "permission_denied") {
		t.Fatalf("la create with the peer token: exit %d %s", r.code, r.stderr)
	}
	for la, id := range map[string]string{"la1": "0001", "la2": "0002"} {
		if out := must(t, away, tokens[la], "", "v2x", "la", "create", "cn-"+la, "--id", id, "--pca-cert", pca); !strings.Contains(out, id) {
			t.Fatalf("la create: %s", out)
		}
	}

	must(t, home, tokens["eca"], "", "v2x", "allow", "cn", "VIN-A", "VIN-B")
	state := func(v string) string { return filepath.Join(dir, v+".json") }
	for _, v := range []string{"VIN-A", "VIN-B"} {
		must(t, home, "", "", "v2x", "enroll", "--state", state(v), "--deployment", "cn", "--id", v, "--root-pin", dep.RootPin)
		must(t, home, "", "", "v2x", "request-pseudonyms", "--state", state(v))
	}
	must(t, home, tokens["ra"], "", "v2x", "flush", "cn")
	for _, v := range []string{"VIN-A", "VIN-B"} {
		if out := must(t, home, "", "", "v2x", "download", "--state", state(v)); !strings.Contains(out, ": 20 certificates") {
			t.Fatalf("download: %s", out)
		}
	}
	bsm, spdu := filepath.Join(dir, "bsm.txt"), filepath.Join(dir, "bsm.oer")
	if err := os.WriteFile(bsm, []byte("BSM"), 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, home, "", "", "v2x", "sign", "--state", state("VIN-A"), "--in", bsm, "--out", spdu)
	must(t, home, "", "", "v2x", "verify", "--state", state("VIN-B"), "--in", spdu, "--psid", "32", "--max-age", "1m")
	var rev sdk.V2XRevocation
	cliJSON(t, home.addr, tokens["ma"], &rev, "v2x", "report", "cn", "--in", spdu)
	if rev.Kind != "pseudonym" {
		t.Fatalf("revocation %+v", rev)
	}
	if r := cli(t, home.addr, "", "v2x", "verify", "--state", state("VIN-B"), "--in", spdu, "--psid", "32"); r.code != 2 || !strings.Contains(r.stdout, "revoked") {
		t.Fatalf("verify after the report: exit %d %s %s", r.code, r.stdout, r.stderr)
	}

	// A deployment whose LA the other cluster does not have.
	cliJSON(t, home.addr, homeRoot, &dep, append([]string{"v2x", "create", "cn2", "--root", "v2x-root", "--eca", "v2x-eca",
		"--ra", "v2x-ra", "--pca", "v2x-pca", "--ma", "v2x-ma"}, laFlags...)...)
	must(t, home, tokens["eca"], "", "v2x", "allow", "cn2", "VIN-C")
	must(t, home, "", "", "v2x", "enroll", "--state", state("VIN-C"), "--deployment", "cn2", "--id", "VIN-C", "--root-pin", dep.RootPin)
	if r := cli(t, home.addr, "", "v2x", "request-pseudonyms", "--state", state("VIN-C")); r.code == 0 || !strings.Contains(r.stderr, "v2x_la_unavailable") {
		t.Fatalf("request with a missing LA: exit %d %s", r.code, r.stderr)
	}
}

// checkGBT45112Signature checks with gmsm alone that the SPDU in file is
// signed as GB/T 45112-2024 computes SM2 signatures (its worked example is
// internal/v2x/sec/testdata/ydt3957-sm2-sign.txt): over SM3(Z_A ||
// ToBeSignedData) with ID_A = SM3 of the signer's certificate.
func checkGBT45112Signature(t *testing.T, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var data ieee1609.Data
	if err := coer.Unmarshal(b, &data); err != nil {
		t.Fatal(err)
	}
	sd := data.Content.SignedData
	if sd == nil || len(sd.Signer.Certificate) != 1 || sd.Signature.Sm2Signature == nil {
		t.Fatalf("not an SM2-signed SPDU with its certificate: %+v", data.Content)
	}
	cert := &sd.Signer.Certificate[0]
	pub, err := sec.VerifyingKey(*cert.ToBeSigned.VerifyKeyIndicator.VerificationKey)
	if err != nil {
		t.Fatal(err)
	}
	certEnc, err := coer.Marshal(cert)
	if err != nil {
		t.Fatal(err)
	}
	tbs, err := coer.Marshal(&sd.TbsData)
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(sd.Signature.Sm2Signature.RSig[:]), new(big.Int).SetBytes(sd.Signature.Sm2Signature.SSig[:]),
	})
	if err != nil {
		t.Fatal(err)
	}
	id := sm3.Sum(certEnc)
	if !sm2.VerifyASN1WithSM2(pub, id[:], tbs, der) {
		t.Error("the SPDU is not signed over SM3(Z_A || ToBeSignedData) with ID_A = SM3(signer certificate)")
	}
}
