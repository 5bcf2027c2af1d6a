package scms

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ee"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
	"github.com/mimacrypto/mima/internal/v2x/trust"
)

const week = 7 * 24 * time.Hour

// TestVehiclesExchangeMessages enrols two vehicles, gives each a week of
// pseudonym certificates, and lets them verify each other's messages.
func TestVehiclesExchangeMessages(t *testing.T) {
	w := newWorld(t, DeploymentRequest{})
	a, b := w.device(t, "VIN-A", Vehicle), w.device(t, "VIN-B", Vehicle)
	w.pseudonyms(t, a, week, 1)
	w.pseudonyms(t, b, week, 1)
	if n := len(a.State().Pseudonyms); n != 20 {
		t.Fatalf("vehicle A holds %d pseudonyms", n)
	}
	msg, err := a.Sign([]byte("BSM: 39.9042N 116.4074E 12 m/s"), PsidBSM, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := b.Verify(msg, PsidBSM, time.Minute)
	if err != nil {
		t.Fatalf("B verifies A: %v", err)
	}
	if string(v.Payload) != "BSM: 39.9042N 116.4074E 12 m/s" || v.Signer.ToBeSigned.ID.LinkageData == nil {
		t.Fatalf("payload %q, signer %+v", v.Payload, v.Signer.ToBeSigned.ID)
	}
	msg, _ = b.Sign([]byte("BSM from B"), PsidBSM, nil)
	if _, err := a.Verify(msg, PsidBSM, time.Minute); err != nil {
		t.Fatalf("A verifies B: %v", err)
	}
	// A tampered message fails.
	msg[len(msg)-70] ^= 1
	if _, err := a.Verify(msg, PsidBSM, time.Minute); trust.CodeOf(err) == "" {
		t.Fatalf("tampered message: %v", err)
	}
}

// certsOf returns a device's pseudonym certificates of period i (COER).
func certsOf(d interface{ State() *ee.State }, i uint16) [][]byte {
	var out [][]byte
	for _, p := range d.State().Pseudonyms {
		if p.Period == i {
			out = append(out, p.Cert)
		}
	}
	return out
}

// TestMisbehaviourRevocation: vehicle A holds two weeks of pseudonyms; in
// the second week it is reported. The next CRL revokes all its
// certificates of the second week, in any receiver's view, while those of
// the first week stay unrevoked (unlinkable) and vehicle B's pass; A can
// no longer get certificates or enrol again.
func TestMisbehaviourRevocation(t *testing.T) {
	w := newWorld(t, DeploymentRequest{})
	a, b := w.device(t, "VIN-A", Vehicle), w.device(t, "VIN-B", Vehicle)
	ra := w.pseudonyms(t, a, 2*week, 2)
	w.pseudonyms(t, b, week, 1)
	first, second := ra.First, ra.First+1

	w.clock.advance(week) // into the second period
	msgA, err := a.Sign([]byte("forged red light"), PsidBSM, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := b.Verify(msgA, PsidBSM, time.Minute)
	if err != nil {
		t.Fatalf("before the report: %v", err)
	}
	if v.Signer.ToBeSigned.ID.LinkageData.ICert != second {
		t.Fatalf("signed with a certificate of period %d", v.Signer.ToBeSigned.ID.LinkageData.ICert)
	}
	reported, err := coer.Marshal(v.Signer)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := w.s.Report(ctx, w.dep.Name, reported)
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	if rev.IRev != second || rev.Kind != "pseudonym" {
		t.Fatalf("revocation %+v", rev)
	}

	w.pseudonyms(t, b, week, 1) // B renews for the new week
	for _, d := range []*ee.Device{a, b} {
		if err := d.UpdateCRL(ctx, transport{w}); err != nil {
			t.Fatalf("CRL: %v", err)
		}
	}
	// Every one of A's second-week certificates is revoked, none of its
	// first-week ones.
	for _, tc := range []struct {
		period  uint16
		revoked bool
	}{{second, true}, {first, false}} {
		certs := certsOf(a, tc.period)
		if len(certs) != w.dep.CertsPerPeriod {
			t.Fatalf("A has %d certificates of period %d", len(certs), tc.period)
		}
		for j, c := range certs {
			if got, err := b.CheckRevoked(c); err != nil || got != tc.revoked {
				t.Fatalf("A's certificate (%d, %d): revoked %v, %v", tc.period, j, got, err)
			}
		}
	}
	if _, err := b.Verify(msgA, PsidBSM, time.Minute); trust.CodeOf(err) != trust.Revoked {
		t.Fatalf("A's message after the CRL: %v", err)
	}
	msgB, _ := b.Sign([]byte("BSM from B"), PsidBSM, nil)
	if _, err := a.Verify(msgB, PsidBSM, time.Minute); err != nil {
		t.Fatalf("B's message after the CRL: %v", err)
	}
	for _, c := range certsOf(b, second) {
		if got, _ := a.CheckRevoked(c); got {
			t.Fatal("one of B's certificates is revoked")
		}
	}
	// A is blocked at the RA and the ECA.
	if _, err := a.RequestPseudonyms(ctx, transport{w}, week, []ieee1609.Psid{PsidBSM}); !fault.Is(err, fault.DeviceBlocked) {
		t.Fatalf("blocked device's request: %v", err)
	}
	if err := w.newDevice(t, "VIN-A", Vehicle).Enrol(ctx, transport{w}, []ieee1609.Psid{PsidBSM}); !fault.Is(err, fault.DeviceBlocked) {
		t.Fatalf("blocked device's enrolment: %v", err)
	}
	// Its enrolment certificate is on the hash-based CRL.
	if got, err := b.CheckRevoked(a.State().Enrolment); err != nil || !got {
		t.Fatalf("A's enrolment certificate revoked: %v, %v", got, err)
	}
}

// TestNoAuthorityLinksPseudonyms reads what each authority stores after
// two vehicles got two weeks of pseudonyms, and checks that no single
// authority's records link two pseudonym certificates of one vehicle:
// the PCA keeps a different request hash for every certificate and
// nothing of the device; the RA knows devices and requests but holds no
// certificate, certificate hash or linkage value; the LAs hold seeds and
// nothing of devices, requests or certificates.
func TestNoAuthorityLinksPseudonyms(t *testing.T) {
	w := newWorld(t, DeploymentRequest{})
	a, b := w.device(t, "VIN-A", Vehicle), w.device(t, "VIN-B", Vehicle)
	reqA := w.pseudonyms(t, a, 2*week, 2)
	reqB := w.pseudonyms(t, b, 2*week, 2)

	// What identifies vehicle A and its certificates, as stored text.
	var enrolA ieee1609.Certificate
	if err := coer.Unmarshal(a.State().Enrolment, &enrolA); err != nil {
		t.Fatal(err)
	}
	enrolID, _ := sec.HashedID8(&enrolA)
	device := []string{"VIN-A", hex.EncodeToString(enrolID[:]), reqA.Hash, reqB.Hash}
	var certIDs, lvs []string
	for _, p := range a.State().Pseudonyms {
		var c ieee1609.Certificate
		if err := coer.Unmarshal(p.Cert, &c); err != nil {
			t.Fatal(err)
		}
		id, _ := sec.HashedID8(&c)
		lv := c.ToBeSigned.ID.LinkageData.LinkageValue
		certIDs = append(certIDs, hex.EncodeToString(id[:]))
		lvs = append(lvs, hex.EncodeToString(lv[:]), base64.StdEncoding.EncodeToString(lv[:]))
	}

	stored := func(tenant string) map[string]string {
		prefix := "t/" + tenant + "/v2x/"
		keys, err := w.store.List(ctx, prefix, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, k := range keys {
			v, err := w.store.Get(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			out[k] = string(v)
		}
		if len(out) == 0 {
			t.Fatalf("tenant %s stores nothing", tenant)
		}
		return out
	}
	mentions := func(records map[string]string, needles []string) []string {
		var found []string
		for k, v := range records {
			for _, n := range needles {
				if strings.Contains(k, n) || strings.Contains(v, n) {
					found = append(found, n)
				}
			}
		}
		return found
	}

	pca := stored(w.dep.Tenants.PCA)
	if f := mentions(pca, device); len(f) > 0 {
		t.Errorf("the PCA stores what identifies the vehicle: %v", f)
	}
	seen := map[string]string{}
	for k, v := range pca {
		if prev, dup := seen[v]; dup {
			t.Errorf("the PCA stores one value for two certificates: %s and %s", prev, k)
		}
		seen[v] = k
	}
	if got := len(mentions(pca, certIDs)); got != len(certIDs) {
		t.Errorf("the PCA keeps %d of A's %d certificates (the MA needs them)", got, len(certIDs))
	}

	ra := stored(w.dep.Tenants.RA)
	if f := mentions(ra, append(certIDs, lvs...)); len(f) > 0 {
		t.Errorf("the RA stores A's certificates or linkage values: %v", f)
	}
	for _, tn := range []string{w.dep.Tenants.LA1, w.dep.Tenants.LA2} {
		la := stored(tn)
		if f := mentions(la, append(append(device, certIDs...), lvs...)); len(f) > 0 {
			t.Errorf("LA %s stores what identifies the vehicle or its certificates: %v", tn, f)
		}
		if len(la) != 2 {
			t.Errorf("LA %s keeps %d records for two requests", tn, len(la))
		}
	}
}
