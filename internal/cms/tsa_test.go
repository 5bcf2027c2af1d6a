package cms

import (
	"encoding/asn1"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/pki"
	"github.com/mimacrypto/mima/internal/storage/paths"
	"github.com/mimacrypto/mima/internal/storage/storagetest"
)

// TestCreateTSA creates a TSA and checks its key, its certificate, the
// profile made for it, its chain and its record.
func TestCreateTSA(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.intermediate(t, "root", "issuing")
	a := e.tsa(t, "issuing", "tsa", func(r *TSARequest) { r.Policy = "1.2.3.4.1"; r.Accuracy = 10 * time.Millisecond })
	if a.CA != "issuing" || a.Policy != "1.2.3.4.1" || a.Accuracy != 10*time.Millisecond || a.CertIDHash != "sm3" ||
		!strings.HasPrefix(a.Key, "tsa-tsa-") || !a.CreatedAt.Equal(e.clock.Now()) {
		t.Errorf("record %+v", a)
	}
	info, err := e.keys.Get(ctx, tenant, a.Key)
	if err != nil || info.Exportable {
		t.Errorf("key %+v, %v", info, err)
	}
	c, err := e.ca.GetCertificate(ctx, tenant, a.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	cert := parse(t, c.DER)
	if !slices.Equal(cert.ExtKeyUsage, []smx509.ExtKeyUsage{smx509.ExtKeyUsageTimeStamping}) ||
		cert.KeyUsage != smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment || c.Profile != TSAProfile ||
		cert.Subject.CommonName != "tsa TSA" {
		t.Errorf("certificate: EKU %v, KU %v, profile %s, subject %s", cert.ExtKeyUsage, cert.KeyUsage, c.Profile, cert.Subject)
	}
	p, err := e.ca.GetProfile(ctx, tenant, "issuing", TSAProfile)
	if err != nil || !slices.Equal(p.ExtKeyUsage, []string{"timeStamping"}) {
		t.Errorf("profile %+v, %v", p, err)
	}
	chain, err := e.s.TSACertificateChain(ctx, tenant, "tsa")
	if err != nil {
		t.Fatal(err)
	}
	certs, err := parseCertificatesPEM(chain)
	if err != nil || len(certs) != 3 || certs[0].SerialNumber.Cmp(cert.SerialNumber) != 0 || certs[2].Subject.CommonName != "root Root CA" {
		t.Errorf("chain of %d certificates: %v", len(certs), err)
	}
	got, err := e.s.GetTSA(ctx, tenant, "tsa")
	if err != nil || got != a {
		t.Errorf("GetTSA %+v, %v", got, err)
	}
	e.tsa(t, "root", "second")
	list, err := e.s.ListTSAs(ctx, tenant)
	if err != nil || len(list) != 2 || list[0].Name != "second" || list[1].Name != "tsa" {
		t.Errorf("ListTSAs %+v, %v", list, err)
	}
}

func parse(t testing.TB, der []byte) *smx509.Certificate {
	t.Helper()
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCreateTSARefuses covers bad requests, and a TSA profile that
// gives more than timeStamping, which leaves the key to be deleted and
// its certificate revoked.
func TestCreateTSARefuses(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.root(t, "loose")
	if _, err := e.ca.SetProfile(ctx, tenant, "loose", pki.Profile{
		Name: TSAProfile, Usage: pki.Signing, KeyUsage: []string{"digitalSignature"},
		ExtKeyUsage: []string{"timeStamping", "codeSigning"}, MaxTTL: time.Hour, AllowedCommonNames: []string{"**"},
	}); err != nil {
		t.Fatal(err)
	}
	e.tsa(t, "root", "taken")
	for _, tc := range []struct {
		name string
		req  TSARequest
		code fault.Code
	}{
		{"bad name", TSARequest{Name: "Bad Name", CA: "root"}, fault.InvalidArgument},
		{"taken", TSARequest{Name: "taken", CA: "root"}, fault.AlreadyExists},
		{"bad policy", TSARequest{Name: "a", CA: "root", Policy: "1.2.x"}, fault.InvalidArgument},
		{"policy arc 3", TSARequest{Name: "a", CA: "root", Policy: "3.1"}, fault.InvalidArgument},
		{"negative accuracy", TSARequest{Name: "a", CA: "root", Accuracy: -time.Second}, fault.InvalidArgument},
		{"sub-microsecond accuracy", TSARequest{Name: "a", CA: "root", Accuracy: 1500}, fault.InvalidArgument},
		{"accuracy over an hour", TSARequest{Name: "a", CA: "root", Accuracy: 2 * time.Hour}, fault.InvalidArgument},
		{"sha1 cert id", TSARequest{Name: "a", CA: "root", CertIDHash: "sha1"}, fault.InvalidArgument},
		{"unknown CA", TSARequest{Name: "a", CA: "nope"}, fault.CANotFound},
		{"loose profile", TSARequest{Name: "loose", CA: "loose"}, fault.ProfileViolation},
	} {
		_, err := e.s.CreateTSA(ctx, tenant, tc.req)
		wantCode(t, tc.name, err, tc.code)
	}
	keys, err := e.keys.List(ctx, tenant, kms.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var left []kms.State
	for _, k := range keys.Keys {
		if strings.HasPrefix(k.Name, "tsa-loose-") {
			left = append(left, k.State)
			wantRetired(t, e, k.Name)
		}
	}
	if !slices.Equal(left, []kms.State{kms.PendingDeletion}) {
		t.Errorf("the keys of the failed TSA are %v", left)
	}
	_, err = e.s.GetTSA(ctx, tenant, "loose")
	wantCode(t, "failed TSA", err, fault.TSANotFound)
}

// wantRetired fails t unless the certificate issued for key is revoked
// with reason cessationOfOperation.
func wantRetired(t *testing.T, e *env, key string) {
	t.Helper()
	c, err := e.ca.CertificateForKey(ctx, tenant, key)
	if err != nil {
		t.Fatalf("certificate of %s: %v", key, err)
	}
	if c.State != pki.Revoked || c.Reason != pki.CessationOfOperation {
		t.Errorf("certificate of %s of a failed TSA creation is %s (%s), want revoked (cessationOfOperation)", key, c.State, c.Reason)
	}
}

// TestCreateTSALoserRevokes: of two creators of one TSA name, the one
// whose final write finds the name taken fails with already_exists,
// schedules its key for deletion and revokes the certificate it was
// issued; the winner's TSA is whole.
func TestCreateTSALoserRevokes(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	// Hold the first creator's final write: the second look at the name.
	var looks atomic.Int32
	name := paths.TSA{Tenant: tenant, Name: "race"}.String()
	st := storagetest.Park(e.store, func(key string, found bool) bool {
		return key == name && !found && looks.Add(1) == 2
	})
	if err := e.s.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	lost := make(chan error, 1)
	go func() {
		_, err := e.s.CreateTSA(ctx, tenant, TSARequest{Name: "race", CA: "root"})
		lost <- err
	}()
	<-st.Parked
	won, err := e.s.CreateTSA(ctx, tenant, TSARequest{Name: "race", CA: "root"})
	if err != nil {
		t.Fatal(err)
	}
	st.Release()
	wantCode(t, "losing creator", <-lost, fault.AlreadyExists)
	keys, err := e.keys.List(ctx, tenant, kms.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var losers int
	for _, k := range keys.Keys {
		if strings.HasPrefix(k.Name, "tsa-race-") && k.Name != won.Key {
			losers++
			if k.State != kms.PendingDeletion {
				t.Errorf("the losing creator's key is %s, want pending deletion", k.State)
			}
			wantRetired(t, e, k.Name)
		}
	}
	if losers != 1 {
		t.Fatalf("%d keys of losing creators, want 1", losers)
	}
	if c, err := e.ca.CertificateForKey(ctx, tenant, won.Key); err != nil || c.State != pki.Valid {
		t.Fatalf("the winner's certificate: %+v, %v", c, err)
	}
}

// TestPolicyOIDs round-trips OIDs with arcs too big for encoding/asn1.
func TestPolicyOIDs(t *testing.T) {
	for _, s := range []string{DefaultPolicy, "1.2.3.4.1", "2.999.1", "0.0", "1.39.18446744073709551616"} {
		der, err := encodeOID(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		back, err := decodeOID(der)
		if err != nil || back != s {
			t.Errorf("%s: back %s, %v", s, back, err)
		}
	}
	small, _ := encodeOID("1.2.840.113549")
	if want, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 113549}); string(small) != string(want) {
		t.Errorf("encoding differs from encoding/asn1: %x", small)
	}
	for _, s := range []string{"", "1", "1.40", "3.1", "1.02", "1..2", "1.-2", "a.b"} {
		if _, err := encodeOID(s); err == nil {
			t.Errorf("%q encodes", s)
		}
	}
	for _, der := range [][]byte{{0x06, 0x01, 0x80}, {0x06, 0x02, 0x80, 0x01}, {0x04, 0x01, 0x01}, {0x06, 0x00}} {
		if _, err := decodeOID(der); err == nil {
			t.Errorf("%x decodes", der)
		}
	}
}
