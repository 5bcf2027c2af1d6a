package pki

import (
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
)

func TestCRLSchedule(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	first := e.crlOf(t, "root")
	if first.Number.Int64() != 1 || !first.ThisUpdate.Equal(e.clock.Now()) || first.NextUpdate.Sub(first.ThisUpdate) != DefaultCRLValidity {
		t.Errorf("first CRL: number %d, %s to %s", first.Number, first.ThisUpdate, first.NextUpdate)
	}
	for _, tc := range []struct {
		after  time.Duration // since the first CRL
		issued int
		number int64
	}{
		{DefaultCRLValidity/2 - time.Second, 0, 1},
		{DefaultCRLValidity / 2, 1, 2},
		{DefaultCRLValidity/2 + time.Minute, 0, 2},
		{DefaultCRLValidity, 1, 3},
	} {
		at := first.ThisUpdate.Add(tc.after)
		rep, err := e.s.RunJobs(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Set(at)
		crl := e.crlOf(t, "root")
		if rep.CRLsIssued != tc.issued || crl.Number.Int64() != tc.number {
			t.Errorf("at +%s: issued %d CRLs, number %d; want %d, %d", tc.after, rep.CRLsIssued, crl.Number, tc.issued, tc.number)
		}
		if tc.issued == 1 && !crl.ThisUpdate.Equal(at) {
			t.Errorf("at +%s: thisUpdate %s", tc.after, crl.ThisUpdate)
		}
	}
}

func TestCRLFollowsConfig(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	ca, err := e.s.SetConfig(ctx, tenant, "root", Config{CRLValidity: 2 * time.Hour})
	if err != nil || ca.Config.CRLValidity != 2*time.Hour || ca.Config.OCSPValidity != DefaultOCSPValidity {
		t.Fatalf("SetConfig = %+v, %v", ca.Config, err)
	}
	c, _ := e.signCSR(t, "root", "after config")
	if len(parseCert(t, c.DER).CRLDistributionPoints) != 0 {
		t.Error("a certificate carries a CRL URL the config no longer has")
	}
	if _, err := e.s.Revoke(ctx, tenant, c.Serial, KeyCompromise); err != nil {
		t.Fatal(err)
	}
	if crl := e.crlOf(t, "root"); crl.NextUpdate.Sub(crl.ThisUpdate) != 2*time.Hour {
		t.Errorf("CRL validity %s, want 2h", crl.NextUpdate.Sub(crl.ThisUpdate))
	}
	_, err = e.s.SetConfig(ctx, tenant, "root", Config{CRLValidity: time.Minute})
	wantCode(t, "a CRL validity too short", err, fault.InvalidArgument)
	_, err = e.s.SetConfig(ctx, tenant, "root", Config{OCSPURL: "not a url"})
	wantCode(t, "a bad OCSP URL", err, fault.InvalidArgument)
	_, err = e.s.CRL(ctx, "other", "root")
	wantCode(t, "another tenant's CRL", err, fault.CANotFound)
}

func TestRunJobsGoesOnPastAFailingCA(t *testing.T) {
	e := newEnv(t)
	broken := e.root(t, "broken")
	e.root(t, "fine")
	if _, err := e.keys.Disable(ctx, tenant, broken.Key); err != nil {
		t.Fatal(err)
	}
	rep, err := e.s.RunJobs(ctx, e.clock.Now().Add(DefaultCRLValidity))
	wantCode(t, "a CA whose key is disabled", err, fault.KeyDisabled)
	if rep.CRLsIssued != 1 || rep.CRLsFailed != 1 {
		t.Errorf("report %+v, want one issued and one failed", rep)
	}
	if _, err := e.keys.Enable(ctx, tenant, broken.Key); err != nil {
		t.Fatal(err)
	}
	if rep, err := e.s.RunJobs(ctx, e.clock.Now().Add(DefaultCRLValidity)); err != nil || rep.CRLsIssued != 1 {
		t.Errorf("the retry: %+v, %v", rep, err)
	}
}
