package scms

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
)

// TestRemoteLAs runs a deployment whose two LAs are standalone LAs of
// another cluster (a Service on a store of its own, reached in process
// here; through the API in the e2e tests): vehicles get pseudonyms and
// one is revoked through the remote LAs' seeds, while the deployment's
// cluster stores no seed and the LA's cluster nothing of devices.
func TestRemoteLAs(t *testing.T) {
	var other *Service
	seedCalls := 0
	dial := func(r RemoteLA) (LinkageAuthority, error) {
		// In process, the "token" names the other cluster's tenant.
		la, err := other.StandaloneLA(ctx, r.Token, r.Name)
		return countingLA{la, &seedCalls}, err
	}
	tenants := testTenants
	tenants.LA1, tenants.LA2 = "", ""
	w := newWorld(t, DeploymentRequest{Tenants: tenants,
		RemoteLA1: &RemoteLA{URL: "https://la.example", Name: "cn-la1", Token: "org-1"},
		RemoteLA2: &RemoteLA{URL: "https://la.example", Name: "cn-la2", Token: "org-2"},
	}, WithRemoteLA(dial))
	c := w.clock
	other, otherStore := newService(t, c)
	for _, la := range []struct {
		tenant, name string
		id           [2]byte
	}{{"org-1", "cn-la1", w.dep.LA1ID}, {"org-2", "cn-la2", w.dep.LA2ID}} {
		if _, err := other.CreateLA(ctx, la.tenant, LAConfig{Name: la.name, ID: la.id, PCA: w.dep.PCA}); err != nil {
			t.Fatal(err)
		}
	}

	a, b := w.device(t, "VIN-A", Vehicle), w.device(t, "VIN-B", Vehicle)
	w.pseudonyms(t, a, week, 1)
	w.pseudonyms(t, b, week, 1)
	msg, err := a.Sign([]byte("BSM"), PsidBSM, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(msg, PsidBSM, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.Report(ctx, w.dep.Name, a.State().Pseudonyms[0].Cert); err != nil {
		t.Fatal(err)
	}
	// Each LA was asked once, before the locks; not again under them.
	if seedCalls != 2 {
		t.Errorf("the LAs were asked for seeds %d times", seedCalls)
	}
	if err := b.UpdateCRL(ctx, transport{w}); err != nil {
		t.Fatal(err)
	}
	for _, cert := range certsOf(a, a.State().Pseudonyms[0].Period) {
		if got, err := b.CheckRevoked(cert); err != nil || !got {
			t.Fatalf("A's certificate revoked: %v, %v", got, err)
		}
	}
	if got, err := a.CheckRevoked(b.State().Pseudonyms[0].Cert); err != nil || got {
		t.Fatalf("B's certificate revoked: %v, %v", got, err)
	}

	for k := range snapshot(t, w) {
		if strings.Contains(k, "/la/") {
			t.Errorf("the deployment's cluster stores LA data: %s", k)
		}
	}
	laKeys := snapshotUnder(t, &world{store: otherStore}, "t/")
	if len(laKeys) == 0 {
		t.Fatal("the LAs' cluster stores nothing")
	}
	for k, v := range laKeys {
		if strings.Contains(k, "VIN-") || strings.Contains(string(v), "VIN-") {
			t.Errorf("the LAs' cluster stores a device: %s", k)
		}
	}

	// A standalone LA takes no request that does not fit its clock.
	la, err := other.StandaloneLA(ctx, "org-1", "cn-la1")
	if err != nil {
		t.Fatal(err)
	}
	now := periodOf(c.Now(), w.dep.Period)
	for _, r := range []PLVRequest{{Now: now + 5, First: now + 5, Periods: 1, JMax: 20}, {Now: now, First: now, Periods: 53, JMax: 20}, {Now: now, First: now - 1, Periods: 1, JMax: 20}} {
		if _, err := la.PreLinkage(ctx, r); !fault.Is(err, fault.InvalidArgument) {
			t.Errorf("%+v: %v", r, err)
		}
	}
	if _, err := la.LinkageSeed(ctx, SeedRequest{ELCI: "x", IRev: now + 3}); !fault.Is(err, fault.InvalidArgument) {
		t.Errorf("a seed far ahead: %v", err)
	}
	// Nor a second LA of one name, nor an LA it does not have.
	if _, err := other.CreateLA(ctx, "org-1", LAConfig{Name: "cn-la1", ID: w.dep.LA1ID, PCA: w.dep.PCA}); !fault.Is(err, fault.AlreadyExists) {
		t.Errorf("a second LA cn-la1: %v", err)
	}
	if _, err := other.StandaloneLA(ctx, "org-2", "cn-la1"); !fault.Is(err, fault.NotFound) {
		t.Errorf("another tenant's LA: %v", err)
	}
	// Nor a PCA certificate without an encryption key.
	if _, err := other.CreateLA(ctx, "org-3", LAConfig{Name: "x", PCA: w.dep.Root}); !fault.Is(err, fault.InvalidArgument) {
		t.Errorf("LA for a root certificate: %v", err)
	}

	// Their chains go RetainPeriods after they end.
	c.Advance(14 * week)
	if err := other.RunJobs(ctx); err != nil {
		t.Fatal(err)
	}
	for k := range snapshotUnder(t, &world{store: otherStore}, "t/") {
		if strings.Contains(k, "/chains/") {
			t.Errorf("kept: %s", k)
		}
	}
}

// TestRemoteLAOfAnotherID: an LA answering with another LA's id is an
// error the RA does not pass on to the PCA.
func TestRemoteLAOfAnotherID(t *testing.T) {
	var other *Service
	tenants := testTenants
	tenants.LA1 = ""
	w := newWorld(t, DeploymentRequest{Tenants: tenants, RemoteLA1: &RemoteLA{URL: "https://la.example", Name: "cn-la1", Token: "org-1"}},
		WithRemoteLA(func(r RemoteLA) (LinkageAuthority, error) { return other.StandaloneLA(ctx, r.Token, r.Name) }))
	other, _ = newService(t, w.clock)
	if _, err := other.CreateLA(ctx, "org-1", LAConfig{Name: "cn-la1", ID: w.dep.LA2ID, PCA: w.dep.PCA}); err != nil {
		t.Fatal(err)
	}
	a := w.device(t, "VIN-A", Vehicle)
	before := snapshot(t, w)
	if _, err := a.RequestPseudonyms(ctx, transport{w}, week, []ieee1609.Psid{PsidBSM}); !fault.Is(err, fault.Internal) {
		t.Fatalf("request: %v", err)
	}
	if !sameStore(before, snapshot(t, w)) {
		t.Error("a failed request changed the store")
	}
}

// countingLA counts the seeds asked of an LA.
type countingLA struct {
	LinkageAuthority
	seeds *int
}

func (c countingLA) LinkageSeed(ctx context.Context, r SeedRequest) (*SeedResponse, error) {
	*c.seeds++
	return c.LinkageAuthority.LinkageSeed(ctx, r)
}
