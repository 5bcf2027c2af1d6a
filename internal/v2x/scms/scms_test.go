package scms

import (
	"bytes"
	"context"
	cryptoRand "crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
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

	w.clock.Advance(week) // into the second period
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

	stored := func(tenant string) map[string][]byte {
		out := snapshotUnder(t, w, "t/"+tenant+"/v2x/")
		if len(out) == 0 {
			t.Fatalf("tenant %s stores nothing", tenant)
		}
		return out
	}
	mentions := func(records map[string][]byte, needles []string) []string {
		var found []string
		for k, v := range records {
			for _, n := range needles {
				if strings.Contains(k, n) || strings.Contains(string(v), n) {
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
		if prev, dup := seen[string(v)]; dup {
			t.Errorf("the PCA stores one value for two certificates: %s and %s", prev, k)
		}
		seen[string(v)] = k
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

// TestRefusals: each failure is refused with its reason.
func TestRefusals(t *testing.T) {
	beijing := ieee1609.TwoDLocation{Latitude: 399042000, Longitude: 1164074000}
	w := newWorld(t, DeploymentRequest{Region: &ieee1609.GeographicRegion{
		CircularRegion: &ieee1609.CircularRegion{Center: beijing, Radius: 50000},
	}})
	a, b := w.device(t, "VIN-A", Vehicle), w.device(t, "VIN-B", Vehicle)
	w.pseudonyms(t, a, week, 1)

	// Enrolment of a device the ECA does not know.
	if err := w.newDevice(t, "VIN-X", Vehicle).Enrol(ctx, transport{w}, []ieee1609.Psid{PsidBSM}); !fault.Is(err, fault.DeviceNotAllowed) {
		t.Errorf("unknown device: %v", err)
	}
	// A vehicle asking for a PSID its kind may not have.
	if err := w.s.AllowDevices(ctx, w.dep.Name, []DeviceEntry{{ID: "VIN-Y"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.newDevice(t, "VIN-Y", Vehicle).Enrol(ctx, transport{w}, []ieee1609.Psid{99}); !fault.Is(err, fault.SPDUInvalid) {
		t.Errorf("PSID not allowed: %v", err)
	}
	// A request for a PSID the enrolment certificate does not permit.
	if _, err := b.RequestPseudonyms(ctx, transport{w}, week, []ieee1609.Psid{99}); !fault.Is(err, fault.SPDUInvalid) {
		t.Errorf("request beyond the enrolment: %v", err)
	}

	inside := &ieee1609.ThreeDLocation{Latitude: beijing.Latitude + 10000, Longitude: beijing.Longitude, Elevation: 500}
	outside := &ieee1609.ThreeDLocation{Latitude: 311000000, Longitude: 1214000000} // Shanghai
	good, err := a.Sign([]byte("BSM"), PsidBSM, inside)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(good, PsidBSM, time.Minute); err != nil {
		t.Fatalf("good message: %v", err)
	}
	for _, tc := range []struct {
		name string
		spdu func() []byte
		psid ieee1609.Psid
		want trust.Code
	}{
		{"tampered", func() []byte {
			m := append([]byte{}, good...)
			m[20] ^= 0x40
			return m
		}, PsidBSM, trust.BadSignature},
		{"not permitted", func() []byte {
			m, err := a.Sign([]byte("SPAT"), 3619, nil)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}, 0, trust.NotPermitted},
		{"expected another PSID", func() []byte { return good }, 3619, trust.NotPermitted},
		{"outside the region", func() []byte {
			m, err := a.Sign([]byte("BSM"), PsidBSM, outside)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}, PsidBSM, trust.OutsideRegion},
		{"not an SPDU", func() []byte { return []byte("hello") }, PsidBSM, trust.Malformed},
	} {
		if _, err := b.Verify(tc.spdu(), tc.psid, time.Minute); trust.CodeOf(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	// Too old, and signed with a certificate that has expired.
	w.clock.Advance(2 * time.Minute)
	if _, err := b.Verify(good, PsidBSM, time.Minute); trust.CodeOf(err) != trust.Expired {
		t.Errorf("stale message: %v", err)
	}
	w.clock.Advance(2 * week)
	if _, err := b.Verify(good, PsidBSM, 0); err != nil {
		t.Errorf("an old message, judged at its generation time: %v", err)
	}
	if _, err := a.Sign([]byte("BSM"), PsidBSM, nil); err != ee.ErrNoCertificate {
		t.Errorf("signing with expired pseudonyms: %v", err)
	}
	var c ieee1609.Certificate
	if err := coer.Unmarshal(a.State().Pseudonyms[0].Cert, &c); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Trust().VerifyCertificate(&c, w.clock.Now()); trust.CodeOf(err) != trust.Expired {
		t.Errorf("expired pseudonym certificate: %v", err)
	}
}

// TestRoadsideUnit enrols a roadside unit, which gets an application
// certificate for its own key; vehicles verify its messages.
func TestRoadsideUnit(t *testing.T) {
	const spat = 3619
	w := newWorld(t, DeploymentRequest{RoadsidePsids: []ieee1609.Psid{spat}})
	rsu := w.device(t, "RSU-17", Roadside, spat)
	car := w.device(t, "VIN-A", Vehicle)
	if err := rsu.RequestApplicationCert(ctx, transport{w}, 30*24*time.Hour, []ieee1609.Psid{spat}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.Flush(ctx, w.dep.Name); err != nil {
		t.Fatal(err)
	}
	if n, err := rsu.Download(ctx, transport{w}, rsu.State().App.Request, 0); err != nil || n != 1 {
		t.Fatalf("download: %d, %v", n, err)
	}
	msg, err := rsu.Sign([]byte("signal phase: green"), spat, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := car.Verify(msg, spat, time.Minute)
	if err != nil {
		t.Fatalf("vehicle verifies the RSU: %v", err)
	}
	if v.Signer.ToBeSigned.ID.Name == nil || *v.Signer.ToBeSigned.ID.Name != "RSU-17" || v.Signer.ToBeSigned.CrlSeries != SeriesRoadside {
		t.Fatalf("RSU certificate %+v", v.Signer.ToBeSigned)
	}
	// A vehicle may not ask for the roadside PSID.
	if err := w.newDevice(t, "VIN-A", Vehicle).Enrol(ctx, transport{w}, []ieee1609.Psid{spat}); !fault.Is(err, fault.SPDUInvalid) {
		t.Fatalf("vehicle asking for SPAT: %v", err)
	}
	// The RSU gets a second certificate; reported with that one, both go
	// on the hash-based CRL.
	first := rsu.State().App.Cert
	w.clock.Advance(time.Hour)
	if err := rsu.RequestApplicationCert(ctx, transport{w}, 30*24*time.Hour, []ieee1609.Psid{spat}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.Flush(ctx, w.dep.Name); err != nil {
		t.Fatal(err)
	}
	if n, err := rsu.Download(ctx, transport{w}, rsu.State().App.Request, 0); err != nil || n != 1 || bytes.Equal(rsu.State().App.Cert, first) {
		t.Fatalf("second download: %d, %v", n, err)
	}
	rev, err := w.s.Report(ctx, w.dep.Name, rsu.State().App.Cert)
	if err != nil || rev.Kind != "roadside" {
		t.Fatalf("report: %+v, %v", rev, err)
	}
	if err := car.UpdateCRL(ctx, transport{w}); err != nil {
		t.Fatal(err)
	}
	if _, err := car.Verify(msg, spat, 0); trust.CodeOf(err) != trust.Revoked {
		t.Fatalf("the RSU's message, signed with its first certificate: %v", err)
	}
	for _, c := range [][]byte{first, rsu.State().App.Cert} {
		if got, err := car.CheckRevoked(c); err != nil || !got {
			t.Errorf("RSU certificate revoked: %v, %v", got, err)
		}
	}
}

func TestDeploymentChecks(t *testing.T) {
	w := newWorld(t, DeploymentRequest{})
	bad := testTenants
	bad.LA2 = bad.PCA
	noLA1 := testTenants
	noLA1.LA1 = ""
	remote := &RemoteLA{URL: "https://la.example", Name: "other-la1", Token: "t"}
	for name, req := range map[string]DeploymentRequest{
		"role conflict":         {Name: "other", Tenants: bad},
		"bad name":              {Name: "Bad Name", Tenants: testTenants},
		"exists":                {Name: w.dep.Name, Tenants: testTenants},
		"no ma":                 {Name: "other", Tenants: Tenants{Root: "r", ECA: "e", RA: "ra", LA1: "l1", LA2: "l2", PCA: "p"}},
		"no LA1":                {Name: "other", Tenants: noLA1},
		"LA1 here and remote":   {Name: "other", Tenants: testTenants, RemoteLA1: remote},
		"remote LA unreachable": {Name: "other", Tenants: noLA1, RemoteLA1: remote}, // this Service has no WithRemoteLA
		"i-period of an hour":   {Name: "other", Tenants: testTenants, Period: time.Hour},
		"retain 521 periods":    {Name: "other", Tenants: testTenants, RetainPeriods: 521},
	} {
		if _, err := w.s.CreateDeployment(ctx, req); err == nil {
			t.Errorf("%s: accepted", name)
		} else if want := map[bool]fault.Code{true: fault.RoleConflict, false: fault.InvalidArgument}[name == "role conflict"]; name != "exists" && !fault.Is(err, want) {
			t.Errorf("%s: %v, want %s", name, err, want)
		}
	}
	remoteWorld := newWorld(t, DeploymentRequest{Name: "seed"}, WithRemoteLA(func(RemoteLA) (LinkageAuthority, error) { return nil, nil }))
	for name, r := range map[string]*RemoteLA{"no URL": {Name: "x", Token: "t"}, "no token": {URL: "https://la.example", Name: "x"}, "bad name": {URL: "https://la.example", Name: "X Y", Token: "t"}} {
		if _, err := remoteWorld.s.CreateDeployment(ctx, DeploymentRequest{Name: "other", Tenants: noLA1, RemoteLA1: r}); !fault.Is(err, fault.InvalidArgument) {
			t.Errorf("remote LA with %s: %v", name, err)
		}
	}
	if _, err := w.s.Get(ctx, "nope"); !fault.Is(err, fault.DeploymentNotFound) {
		t.Errorf("unknown deployment: %v", err)
	}
}

// TestRequestsAhead: a device may stock up certificates for a later
// period, but not for periods beyond the deployment's max_periods.
func TestRequestsAhead(t *testing.T) {
	w := newWorld(t, DeploymentRequest{})
	a := w.device(t, "VIN-A", Vehicle)
	now := w.clock.Now()
	r, err := a.RequestPseudonymsFrom(ctx, transport{w}, now.Add(2*week), week, []ieee1609.Psid{PsidBSM})
	if err != nil {
		t.Fatal(err)
	}
	if cur := ieee1609.Time32Of(now) / ieee1609.Time32(week/time.Second); r.First != uint16(cur)+2 {
		t.Fatalf("first period %d, now %d", r.First, cur)
	}
	_, err = a.RequestPseudonymsFrom(ctx, transport{w}, now.Add(8*week), week, []ieee1609.Psid{PsidBSM})
	if !fault.Is(err, fault.SPDUInvalid) || !strings.Contains(err.Error(), "periods ahead") {
		t.Fatalf("request far ahead: %v", err)
	}
}

// TestRetriesChangeNothing: an enrolment or pseudonym request sent again
// (a retry after a lost answer, or a replay) gets the same certificate or
// acknowledgement and changes nothing, before and after the certificates
// are issued, so that a device can never hold two batches for one period
// nor lose the one it has.
func TestRetriesChangeNothing(t *testing.T) {
	w := newWorld(t, DeploymentRequest{})
	if err := w.s.AllowDevices(ctx, w.dep.Name, []DeviceEntry{{ID: "VIN-A"}}); err != nil {
		t.Fatal(err)
	}
	a := w.newDevice(t, "VIN-A", Vehicle)
	rec := &recorder{transport: transport{w}}
	if err := a.Enrol(ctx, rec, []ieee1609.Psid{PsidBSM}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, w)
	again, err := w.s.Enrol(ctx, w.dep.Name, rec.sent[opEnrol][0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(again, a.State().Enrolment) || !sameStore(before, snapshot(t, w)) {
		t.Error("a retried enrolment got another certificate or changed the store")
	}
	r, err := a.RequestPseudonyms(ctx, rec, week, []ieee1609.Psid{PsidBSM})
	if err != nil {
		t.Fatal(err)
	}
	sent := rec.sent[opRequest][0]
	replay := func(stage string) {
		t.Helper()
		before := snapshot(t, w)
		ack, err := w.s.Request(ctx, w.dep.Name, sent)
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		if hex.EncodeToString(ack.RequestHash[:]) != r.Hash || ack.First != r.First {
			t.Fatalf("%s: acknowledged %x from %d, first ack %s from %d", stage, ack.RequestHash, ack.First, r.Hash, r.First)
		}
		if !sameStore(before, snapshot(t, w)) {
			t.Fatalf("%s: the replay changed the store", stage)
		}
	}
	replay("queued")
	if n, err := w.s.Flush(ctx, w.dep.Name); err != nil || n != w.dep.CertsPerPeriod {
		t.Fatalf("flush: %d, %v", n, err)
	}
	replay("issued")
	if n, err := w.s.Flush(ctx, w.dep.Name); err != nil || n != 0 {
		t.Fatalf("second flush: %d, %v", n, err)
	}
	if n, err := a.Download(ctx, transport{w}, r.Hash, r.First); err != nil || n != w.dep.CertsPerPeriod {
		t.Fatalf("download: %d, %v", n, err)
	}
}

// tampered is a transport whose trust list and CRL have their last byte
// changed.
type tampered struct{ transport }

func (t tampered) TrustList(ctx context.Context) ([]byte, error) {
	return flipLast(t.transport.TrustList(ctx))
}

func (t tampered) CRL(ctx context.Context) ([]byte, error) { return flipLast(t.transport.CRL(ctx)) }

func flipLast(b []byte, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	b = bytes.Clone(b)
	b[len(b)-1] ^= 1
	return b, nil
}

// TestDeviceTrust: a device takes only the trust list of the root it
// pins and only signed, intact lists and CRLs; a refused download leaves
// it with the trust it had; its state file keeps everything it needs.
func TestDeviceTrust(t *testing.T) {
	w := newWorld(t, DeploymentRequest{})
	a, b := w.device(t, "VIN-A", Vehicle), w.device(t, "VIN-B", Vehicle)
	w.pseudonyms(t, a, week, 1)
	msg, err := a.Sign([]byte("BSM"), PsidBSM, nil)
	if err != nil {
		t.Fatal(err)
	}

	st, err := ee.NewState(cryptoRand.Reader, "VIN-C", Vehicle, ieee1609.HashedId8{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	other, err := ee.Open(st, ee.WithClock(w.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if err := other.UpdateTrust(ctx, transport{w}); err == nil || !strings.Contains(err.Error(), "pinned root") {
		t.Errorf("a trust list without the pinned root: %v", err)
	}

	if err := b.UpdateCRL(ctx, transport{w}); err != nil {
		t.Fatal(err)
	}
	list, crl := b.State().TrustList, b.State().CRL
	if err := b.UpdateTrust(ctx, tampered{transport{w}}); err == nil {
		t.Error("a tampered trust list was taken")
	}
	if err := b.UpdateCRL(ctx, tampered{transport{w}}); err == nil {
		t.Error("a tampered CRL was taken")
	}
	if !bytes.Equal(b.State().TrustList, list) || !bytes.Equal(b.State().CRL, crl) {
		t.Error("a refused download replaced the stored one")
	}
	if _, err := b.Verify(msg, PsidBSM, time.Minute); err != nil {
		t.Errorf("after refused downloads the device no longer verifies: %v", err)
	}

	path := filepath.Join(t.TempDir(), "a.json")
	if err := a.State().Save(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, %v", fi.Mode(), err)
	}
	loaded, err := ee.LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	reopened, err := ee.Open(loaded, ee.WithClock(w.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	msg, err = reopened.Sign([]byte("BSM after a restart"), PsidBSM, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(msg, PsidBSM, time.Minute); err != nil {
		t.Errorf("a message of the reopened device: %v", err)
	}
	if err := os.WriteFile(path, []byte(`{"id": `), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ee.LoadState(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a damaged state file: %v", err)
	}
}

// TestRevocationCoversEveryRequest: a vehicle that enrolled twice and
// holds certificates from three requests (two with its first enrolment,
// one for a later week, and one with its second) is reported through one
// pseudonym certificate. Every one of its certificates from iRev on is
// revoked, whichever request or enrolment it came from; its second
// enrolment certificate gets it nothing more; and another report of it
// changes nothing.
func TestRevocationCoversEveryRequest(t *testing.T) {
	w := newWorld(t, DeploymentRequest{})
	first, b := w.device(t, "VIN-A", Vehicle), w.device(t, "VIN-B", Vehicle)
	second := w.newDevice(t, "VIN-A", Vehicle)
	if err := second.Enrol(ctx, transport{w}, []ieee1609.Psid{PsidBSM}); err != nil {
		t.Fatal(err)
	}
	now := w.pseudonyms(t, first, week, 1).First
	later, err := first.RequestPseudonymsFrom(ctx, transport{w}, w.clock.Now().Add(2*week), week, []ieee1609.Psid{PsidBSM})
	if err != nil || later.First != now+2 {
		t.Fatalf("request for a later week: %+v, %v", later, err)
	}
	w.pseudonyms(t, second, week, 1)
	w.pseudonyms(t, b, week, 1)
	if _, err := first.Download(ctx, transport{w}, later.Hash, later.First); err != nil {
		t.Fatal(err)
	}

	rev, err := w.s.Report(ctx, w.dep.Name, first.State().Pseudonyms[0].Cert)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.UpdateCRL(ctx, transport{w}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		d       *ee.Device
		period  uint16
		revoked bool
	}{{"first enrolment, this week", first, now, true}, {"first enrolment, a later week", first, now + 2, true},
		{"second enrolment", second, now, true}, {"another vehicle", b, now, false}} {
		certs := certsOf(tc.d, tc.period)
		if len(certs) != w.dep.CertsPerPeriod {
			t.Fatalf("%s: %d certificates", tc.name, len(certs))
		}
		for _, c := range certs {
			if got, err := b.CheckRevoked(c); err != nil || got != tc.revoked {
				t.Fatalf("%s: revoked %v, %v", tc.name, got, err)
			}
		}
	}
	for _, d := range []*ee.Device{first, second} {
		if got, err := b.CheckRevoked(d.State().Enrolment); err != nil || !got {
			t.Errorf("enrolment certificate revoked: %v, %v", got, err)
		}
	}
	if _, err := second.RequestPseudonyms(ctx, transport{w}, week, []ieee1609.Psid{PsidBSM}); !fault.Is(err, fault.DeviceBlocked) {
		t.Errorf("a request with the other enrolment certificate: %v", err)
	}

	crl := snapshotUnder(t, w, "t/"+w.dep.Tenants.Root+"/v2x/"+w.dep.Name+"/crl/")
	for _, c := range [][]byte{first.State().Pseudonyms[0].Cert, second.State().Pseudonyms[3].Cert} {
		again, err := w.s.Report(ctx, w.dep.Name, c)
		if err != nil || again != rev {
			t.Errorf("another report of the revoked vehicle: %+v, %v; first %+v", again, err, rev)
		}
	}
	if !sameStore(crl, snapshotUnder(t, w, "t/"+w.dep.Tenants.Root+"/v2x/"+w.dep.Name+"/crl/")) {
		t.Error("reporting a revoked vehicle again changed the CRL records")
	}
}

// TestTidy: once a period is over its download files go; RetainPeriods
// later, everything that traced its certificates; revocations go when
// their certificates have all expired. Tidying twice in one period does
// nothing more.
func TestTidy(t *testing.T) {
	w := newWorld(t, DeploymentRequest{RetainPeriods: 2})
	a, b := w.device(t, "VIN-A", Vehicle), w.device(t, "VIN-B", Vehicle)
	ra := w.pseudonyms(t, a, week, 1)
	w.pseudonyms(t, b, week, 1)
	p := ra.First
	if _, err := w.s.Report(ctx, w.dep.Name, b.State().Pseudonyms[0].Cert); err != nil {
		t.Fatal(err)
	}
	tidy := func(stage string, want bool) {
		t.Helper()
		n, err := w.s.Tidy(ctx, w.dep.Name)
		if err != nil || (n > 0) != want {
			t.Fatalf("%s: tidy deleted %d, %v", stage, n, err)
		}
		if n, err := w.s.Tidy(ctx, w.dep.Name); err != nil || n != 0 {
			t.Fatalf("%s: tidy again deleted %d, %v", stage, n, err)
		}
	}
	under := func(tenant, role, part string) int {
		return len(snapshotUnder(t, w, "t/"+tenant+"/v2x/"+w.dep.Name+"/"+role+"/"+part+"/"+bucket(p)+"/"))
	}
	tidy("the same period", false)

	w.clock.Advance(week)
	tidy("the next period", true)
	if under(w.dep.Tenants.RA, "ra", "files") != 0 {
		t.Error("the files of a period over are kept")
	}
	if _, err := a.Download(ctx, transport{w}, ra.Hash, p); !fault.Is(err, fault.NotFound) {
		t.Errorf("download of a period over: %v", err)
	}
	if under(w.dep.Tenants.PCA, "pca", "issued") != 2*w.dep.CertsPerPeriod || under(w.dep.Tenants.RA, "ra", "pcareq") != 2*w.dep.CertsPerPeriod {
		t.Error("what traces certificates went before RetainPeriods")
	}
	if n := len(snapshotUnder(t, w, "t/"+w.dep.Tenants.Root+"/v2x/"+w.dep.Name+"/crl/linked/")); n != 0 {
		t.Errorf("%d expired linkage revocations kept", n)
	}

	w.clock.Advance(2 * week)
	tidy("RetainPeriods later", true)
	for _, tn := range []string{w.dep.Tenants.RA, w.dep.Tenants.PCA, w.dep.Tenants.LA1, w.dep.Tenants.LA2} {
		for k := range snapshotUnder(t, w, "t/"+tn+"/v2x/") {
			if strings.Contains(k, "/"+bucket(p)+"/") || strings.Contains(k, ra.Hash) {
				t.Errorf("kept: %s", k)
			}
		}
	}
	if _, err := w.s.Report(ctx, w.dep.Name, a.State().Pseudonyms[0].Cert); !fault.Is(err, fault.CertificateNotFound) {
		t.Errorf("a report after RetainPeriods: %v", err)
	}
}
