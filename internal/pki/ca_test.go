package pki

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

func TestCreateRoot(t *testing.T) {
	e := newEnv(t)
	ca := e.root(t, "root")
	if ca.Kind != Root || ca.State != Active || ca.MaxPathLen != UnlimitedPathLen || ca.Config.CRLValidity != DefaultCRLValidity {
		t.Errorf("CA = %+v", ca)
	}
	cert := parseCert(t, ca.Certificate)
	if err := cert.CheckSignatureFrom(cert); err != nil {
		t.Errorf("root does not verify itself: %v", err)
	}
	if cert.SignatureAlgorithm != smx509.SM2WithSM3 || !cert.IsCA || cert.KeyUsage&smx509.KeyUsageCRLSign == 0 ||
		cert.SerialNumber.BitLen() < 64 || cert.Subject.CommonName != "root Root CA" {
		t.Errorf("root certificate: alg %v, CA %v, usage %b, serial %x, subject %s", cert.SignatureAlgorithm, cert.IsCA, cert.KeyUsage, cert.SerialNumber, cert.Subject)
	}
	if !cert.NotAfter.Equal(cert.NotBefore.Add(DefaultRootTTL)) {
		t.Errorf("validity %s to %s, want %s", cert.NotBefore, cert.NotAfter, DefaultRootTTL)
	}
	bits, err := subjectPublicKey(cert.RawSubjectPublicKeyInfo)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sm3.Sum(bits); !bytes.Equal(cert.SubjectKeyId, sum[:20]) {
		t.Errorf("SKI %x is not the leftmost 160 bits of SM3 of the key, %x", cert.SubjectKeyId, sum[:20])
	}
	key, err := e.keys.Get(ctx, tenant, ca.Key)
	if err != nil || key.Type != device.SM2 || key.Exportable || !strings.HasPrefix(ca.Key, "ca-root-") {
		t.Errorf("CA key %s = %+v, %v; want a non-exportable sm2 key", ca.Key, key, err)
	}
	signer, err := e.keys.Signer(ctx, tenant, ca.Key)
	if err != nil || !signer.Public().(*ecdsa.PublicKey).Equal(cert.PublicKey) {
		t.Errorf("the certificate is not for the CA key: %v", err)
	}
}

func TestCreateIntermediateChains(t *testing.T) {
	e := newEnv(t)
	root := e.root(t, "root")
	inter := e.intermediate(t, "root", "issuing")
	if inter.Kind != Intermediate || inter.Parent != "root" {
		t.Errorf("intermediate = %+v", inter)
	}
	rc, ic := parseCert(t, root.Certificate), parseCert(t, inter.Certificate)
	if !bytes.Equal(ic.AuthorityKeyId, rc.SubjectKeyId) || !slices.Equal(ic.CRLDistributionPoints, []string{testConfig.CRLURL}) ||
		!slices.Equal(ic.OCSPServer, []string{testConfig.OCSPURL}) {
		t.Errorf("intermediate AKI %x (root SKI %x), CDP %q, OCSP %q", ic.AuthorityKeyId, rc.SubjectKeyId, ic.CRLDistributionPoints, ic.OCSPServer)
	}
	leaf, _ := e.signCSR(t, "issuing", "www.example.com", "www.example.com")
	roots, inters := smx509.NewCertPool(), smx509.NewCertPool()
	roots.AddCert(rc)
	inters.AddCert(ic)
	if _, err := parseCert(t, leaf.DER).Verify(smx509.VerifyOptions{
		Roots: roots, Intermediates: inters, DNSName: "www.example.com", CurrentTime: e.clock.Now(),
		KeyUsages: []smx509.ExtKeyUsage{smx509.ExtKeyUsageServerAuth},
	}); err != nil {
		t.Errorf("the leaf does not verify up to the root: %v", err)
	}
	chain, err := e.s.Chain(ctx, tenant, "issuing")
	if err != nil {
		t.Fatal(err)
	}
	var ders [][]byte
	for rest := []byte(chain); ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		ders = append(ders, b.Bytes)
	}
	if len(ders) != 2 || !bytes.Equal(ders[0], inter.Certificate) || !bytes.Equal(ders[1], root.Certificate) {
		t.Errorf("chain has %d certificates, want the intermediate then the root", len(ders))
	}
	c, err := e.s.GetCertificate(ctx, tenant, ic.SerialNumber.Text(16))
	if err != nil || c.CA != "root" || c.Kind != CACert {
		t.Errorf("the intermediate's certificate as issued by root: %+v, %v", c, err)
	}
}

func TestCAPathLength(t *testing.T) {
	e := newEnv(t)
	if _, err := e.s.CreateRoot(ctx, tenant, CreateCARequest{Name: "r1", Subject: Name{CommonName: "R1"}, MaxPathLen: 1}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		parent, name string
		pathLen      int
		code         fault.Code
	}{
		{"r1", "unlimited", UnlimitedPathLen, fault.ProfileViolation},
		{"r1", "one", 1, fault.ProfileViolation},
		{"r1", "zero", 0, ""},
		{"zero", "below-zero", 0, fault.ProfileViolation},
	} {
		_, err := e.s.CreateIntermediate(ctx, tenant, tc.parent, CreateCARequest{Name: tc.name, Subject: Name{CommonName: tc.name}, MaxPathLen: tc.pathLen})
		if tc.code == "" {
			if err != nil {
				t.Errorf("%s under %s: %v", tc.name, tc.parent, err)
			}
			continue
		}
		wantCode(t, tc.name+" under "+tc.parent, err, tc.code)
		if err != nil && !strings.Contains(err.Error(), "max_path_len") {
			t.Errorf("%s: the message does not name the rule: %v", tc.name, err)
		}
	}
}

func TestCAErrors(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	x := Name{CommonName: "x"}
	root := func(req CreateCARequest) func() error {
		return func() error { _, err := e.s.CreateRoot(ctx, tenant, req); return err }
	}
	get := func(tenant, ca string) func() error {
		return func() error { _, err := e.s.GetCA(ctx, tenant, ca); return err }
	}
	for _, tc := range []struct {
		name string
		call func() error
		code fault.Code
	}{
		{"duplicate", root(CreateCARequest{Name: "root", Subject: x}), fault.AlreadyExists},
		{"bad name", root(CreateCARequest{Name: "Bad/Name", Subject: x}), fault.InvalidArgument},
		{"no subject", root(CreateCARequest{Name: "nosubject"}), fault.InvalidArgument},
		{"too long", root(CreateCARequest{Name: "long", Subject: x, TTL: MaxCATTL + time.Hour}), fault.InvalidArgument},
		{"bad path length", root(CreateCARequest{Name: "path", Subject: x, MaxPathLen: -2}), fault.InvalidArgument},
		{"bad URL", root(CreateCARequest{Name: "url", Subject: x, Config: Config{CRLURL: "ftp://x/crl"}}), fault.InvalidArgument},
		{"unknown parent", func() error {
			_, err := e.s.CreateIntermediate(ctx, tenant, "nope", CreateCARequest{Name: "i", Subject: x})
			return err
		}, fault.CANotFound},
		{"other tenant's CA", get("other", "root"), fault.CANotFound},
		{"invalid CA name", get(tenant, "../root"), fault.CANotFound},
		{"invalid tenant", get("Not A Tenant", "root"), fault.InvalidArgument},
		{"other tenant's chain", func() error { _, err := e.s.Chain(ctx, "other", "root"); return err }, fault.CANotFound},
	} {
		wantCode(t, tc.name, tc.call(), tc.code)
	}
	cas, err := e.s.ListCAs(ctx, tenant)
	if err != nil || len(cas) != 1 || cas[0].Name != "root" {
		t.Errorf("ListCAs = %+v, %v; want only root", cas, err)
	}
	if cas, err := e.s.ListCAs(ctx, "other"); err != nil || len(cas) != 0 {
		t.Errorf("another tenant's CAs = %+v, %v", cas, err)
	}
}

func TestExpiredCARefusesIssuance(t *testing.T) {
	e := newEnv(t)
	if _, err := e.s.CreateRoot(ctx, tenant, CreateCARequest{Name: "short", Subject: Name{CommonName: "short"}, TTL: 48 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	leaf, _ := e.signCSR(t, "short", "until the CA ends")
	if got := parseCert(t, leaf.DER).NotAfter; !got.Equal(e.clock.Now().Add(48 * time.Hour)) {
		t.Errorf("a leaf outlives its CA: notAfter %s", got)
	}
	e.clock.Advance(49 * time.Hour)
	der, _ := newCSR(t, "too late")
	_, err := e.s.SignCSR(ctx, tenant, "short", SignCSRRequest{CSR: der})
	wantCode(t, "issue from an expired CA", err, fault.CAExpired)
	_, err = e.s.CreateIntermediate(ctx, tenant, "short", CreateCARequest{Name: "late", Subject: Name{CommonName: "late"}})
	wantCode(t, "intermediate under an expired CA", err, fault.CAExpired)
}

func TestSealed(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.s.Sealed()
	_, err := e.s.GetCA(ctx, tenant, "root")
	wantCode(t, "get while sealed", err, fault.Sealed)
	_, err = e.s.CRL(ctx, tenant, "root")
	wantCode(t, "CRL while sealed", err, fault.Sealed)
	if err := e.s.Unsealed(ctx, e.store); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.GetCA(ctx, tenant, "root"); err != nil {
		t.Errorf("after unseal: %v", err)
	}
}

func TestRevokedCARefusesIssuance(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	inter := e.intermediate(t, "root", "issuing")
	serial := parseCert(t, inter.Certificate).SerialNumber.Text(16)
	if _, err := e.s.Hold(ctx, tenant, serial); err != nil {
		t.Fatal(err)
	}
	der, _ := newCSR(t, "x")
	_, err := e.s.SignCSR(ctx, tenant, "issuing", SignCSRRequest{CSR: der})
	wantCode(t, "issuing from a held CA", err, fault.CARevoked)
	if _, err := e.s.Release(ctx, tenant, serial); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SignCSR(ctx, tenant, "issuing", SignCSRRequest{CSR: der}); err != nil {
		t.Errorf("issuing from a released CA: %v", err)
	}
	if _, err := e.s.Revoke(ctx, tenant, serial, CACompromise); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.CreateIntermediate(ctx, tenant, "issuing", CreateCARequest{Name: "below", Subject: Name{CommonName: "below"}})
	wantCode(t, "an intermediate under a revoked CA", err, fault.CARevoked)
}
