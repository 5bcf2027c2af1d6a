package pki

import (
	"cmp"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
)

// crlOf returns the current CRL of a CA, parsed and checked against the
// CA's certificate.
func (e *env) crlOf(t testing.TB, ca string) *smx509.RevocationList {
	t.Helper()
	der, err := e.s.CRL(ctx, tenant, ca)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := smx509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.s.GetCA(ctx, tenant, ca)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(parseCert(t, info.Certificate)); err != nil {
		t.Fatalf("the CRL of %s does not verify: %v", ca, err)
	}
	return crl
}

// crlReasons maps the serials a CRL lists to their reason codes.
func crlReasons(crl *smx509.RevocationList) map[string]int {
	m := map[string]int{}
	for _, e := range crl.RevokedCertificateEntries {
		m[serialString(e.SerialNumber)] = e.ReasonCode
	}
	return m
}

func TestRevokeHoldRelease(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	a, _ := e.signCSR(t, "root", "a")
	b, _ := e.signCSR(t, "root", "b")
	number := e.crlOf(t, "root").Number.Int64()
	step := func(what string, f func() (Certificate, error), state CertState, crl map[string]int) {
		t.Helper()
		c, err := f()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if c.State != state {
			t.Errorf("%s: state %s, want %s", what, c.State, state)
		}
		got := e.crlOf(t, "root")
		number++
		if got.Number.Int64() != number {
			t.Errorf("%s: CRL number %d, want %d", what, got.Number, number)
		}
		if m := crlReasons(got); !maps.Equal(m, crl) {
			t.Errorf("%s: CRL lists %v, want %v", what, m, crl)
		}
	}
	step("revoke a", func() (Certificate, error) { return e.s.Revoke(ctx, tenant, a.Serial, KeyCompromise) }, Revoked, map[string]int{a.Serial: 1})
	step("hold b", func() (Certificate, error) { return e.s.Hold(ctx, tenant, b.Serial) }, OnHold, map[string]int{a.Serial: 1, b.Serial: 6})
	step("release b", func() (Certificate, error) { return e.s.Release(ctx, tenant, b.Serial) }, Valid, map[string]int{a.Serial: 1})
	step("hold b again", func() (Certificate, error) { return e.s.Hold(ctx, tenant, b.Serial) }, OnHold, map[string]int{a.Serial: 1, b.Serial: 6})
	step("revoke b for good", func() (Certificate, error) { return e.s.Revoke(ctx, tenant, b.Serial, "") }, Revoked, map[string]int{a.Serial: 1, b.Serial: 0})

	_, err := e.s.Revoke(ctx, tenant, a.Serial, Superseded)
	wantCode(t, "revoking twice", err, fault.AlreadyRevoked)
	_, err = e.s.Hold(ctx, tenant, a.Serial)
	wantCode(t, "holding a revoked certificate", err, fault.AlreadyRevoked)
	_, err = e.s.Release(ctx, tenant, a.Serial)
	wantCode(t, "releasing a revoked certificate", err, fault.InvalidArgument)
	c, _ := e.signCSR(t, "root", "c")
	if _, err := e.s.Hold(ctx, tenant, c.Serial); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.Hold(ctx, tenant, c.Serial)
	wantCode(t, "holding twice", err, fault.AlreadyRevoked)
	_, err = e.s.Revoke(ctx, tenant, c.Serial, "removeFromCRL")
	wantCode(t, "an unknown reason", err, fault.InvalidArgument)
	_, err = e.s.Revoke(ctx, tenant, "0123456789abcdef0123456789abcdef", KeyCompromise)
	wantCode(t, "an unknown serial", err, fault.CertificateNotFound)
	_, err = e.s.Revoke(ctx, tenant, "xyz", KeyCompromise)
	wantCode(t, "a malformed serial", err, fault.InvalidArgument)
	_, err = e.s.Revoke(ctx, "other", c.Serial, KeyCompromise)
	wantCode(t, "another tenant's certificate", err, fault.CertificateNotFound)
	got, err := e.s.GetCertificate(ctx, tenant, a.Serial)
	if err != nil || got.Reason != KeyCompromise || !got.RevokedAt.Equal(e.clock.Now()) {
		t.Errorf("revoked certificate %+v, %v", got, err)
	}
}

func TestRenew(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	old, priv := e.signCSR(t, "root", "renew.example.com", "renew.example.com")
	e.clock.Advance(24 * time.Hour)
	renewed, err := e.s.Renew(ctx, tenant, old.Serial, 0)
	if err != nil {
		t.Fatal(err)
	}
	oc, nc := parseCert(t, old.DER), parseCert(t, renewed.DER)
	switch {
	case renewed.Serial == old.Serial || renewed.RenewedFrom != old.Serial:
		t.Errorf("serial %s renewed from %s; old %s", renewed.Serial, renewed.RenewedFrom, old.Serial)
	case !priv.PublicKey.Equal(nc.PublicKey) || string(nc.RawSubject) != string(oc.RawSubject) || !slices.Equal(nc.DNSNames, oc.DNSNames):
		t.Error("the renewed certificate changed key, subject or names")
	case !nc.NotBefore.Equal(e.clock.Now()) || nc.NotAfter.Sub(nc.NotBefore) != oc.NotAfter.Sub(oc.NotBefore):
		t.Errorf("renewed validity %s to %s", nc.NotBefore, nc.NotAfter)
	case renewed.Profile != old.Profile || renewed.Kind != old.Kind:
		t.Errorf("renewed profile %s kind %s", renewed.Profile, renewed.Kind)
	}
	_, err = e.s.Renew(ctx, tenant, old.Serial, 1000*24*time.Hour)
	wantCode(t, "renewing beyond the profile", err, fault.ProfileViolation)
	if _, err := e.s.Revoke(ctx, tenant, old.Serial, Superseded); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.Renew(ctx, tenant, old.Serial, 0)
	wantCode(t, "renewing a revoked certificate", err, fault.AlreadyRevoked)
}

func TestSearchAndExpiry(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root") // its own certificate is the tenant's first
	var issued []Certificate
	for i, cn := range []string{"alpha.example.com", "beta.example.com", "gamma.example.org", "delta.example.org"} {
		der, _ := newCSR(t, cn, cn)
		c, err := e.s.SignCSR(ctx, tenant, "root", SignCSRRequest{CSR: der, TTL: time.Duration(i+1) * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		issued = append(issued, c)
	}
	if _, err := e.s.Revoke(ctx, tenant, issued[1].Serial, Superseded); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	for _, tc := range []struct {
		name string
		req  SearchRequest
		want []Certificate
	}{
		{"subject", SearchRequest{Subject: "EXAMPLE.ORG"}, []Certificate{issued[2], issued[3]}},
		{"SAN", SearchRequest{SAN: "Beta.example.com"}, []Certificate{issued[1]}},
		{"state", SearchRequest{State: Revoked}, []Certificate{issued[1]}},
		{"serial", SearchRequest{Serial: issued[3].Serial}, []Certificate{issued[3]}},
		{"serial and another CA", SearchRequest{Serial: issued[3].Serial, CA: "other"}, nil},
		{"unknown serial", SearchRequest{Serial: "ff"}, nil},
		{"expiry window", SearchRequest{ExpiresAfter: now.Add(36 * time.Hour), ExpiresBefore: now.Add(73 * time.Hour)}, []Certificate{issued[1], issued[2]}},
		{"CA and subject", SearchRequest{CA: "root", Subject: "alpha"}, []Certificate{issued[0]}},
	} {
		page, err := e.s.Search(ctx, tenant, tc.req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !sameSerials(page.Certificates, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, serials(page.Certificates), serials(tc.want))
		}
	}
	var all []Certificate
	req := SearchRequest{Limit: 2}
	for pages := 0; ; pages++ {
		page, err := e.s.Search(ctx, tenant, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Certificates) > 2 || pages > 5 {
			t.Fatalf("page %d has %d certificates", pages, len(page.Certificates))
		}
		all = append(all, page.Certificates...)
		if page.Cursor == "" {
			break
		}
		req.Cursor = page.Cursor
	}
	if len(all) != 5 || !slices.IsSortedFunc(all, func(a, b Certificate) int { return cmp.Compare(a.Serial, b.Serial) }) {
		t.Errorf("paging found %v, want the 5 certificates in serial order", serials(all))
	}
	_, err := e.s.Search(ctx, tenant, SearchRequest{Cursor: "not a cursor"})
	wantCode(t, "a bad cursor", err, fault.InvalidArgument)
	_, err = e.s.Search(ctx, tenant, SearchRequest{Limit: MaxPageSize + 1})
	wantCode(t, "a page too large", err, fault.InvalidArgument)

	expiring, err := e.s.ListExpiring(ctx, tenant, 3*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{issued[0].Serial, issued[2].Serial}; !slices.Equal(serials(expiring), want) {
		t.Errorf("expiring within 3 days: %v, want %v (soonest first, the revoked one left out)", serials(expiring), want)
	}
	e.clock.Advance(30 * time.Hour)
	expired, err := e.s.Search(ctx, tenant, SearchRequest{State: Expired})
	if err != nil || !sameSerials(expired.Certificates, issued[:1]) {
		t.Errorf("expired after 30 hours: %v, %v", serials(expired.Certificates), err)
	}
	_, err = e.s.ListExpiring(ctx, tenant, 0)
	wantCode(t, "an empty window", err, fault.InvalidArgument)
}

func serials(cs []Certificate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Serial
	}
	return out
}

func sameSerials(a, b []Certificate) bool {
	x, y := serials(a), serials(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
