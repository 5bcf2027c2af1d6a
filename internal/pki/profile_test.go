package pki

import (
	"crypto/x509/pkix"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
)

func TestPatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		yes, no []string
	}{
		{"*.example.com", []string{"www.example.com", "API.Example.COM"}, []string{"example.com", "a.b.example.com", "wwwexample.com"}},
		{"**.example.com", []string{"a.b.example.com", "www.example.com"}, []string{"example.com", "example.org"}},
		{"**@example.com", []string{"john.doe@example.com"}, []string{"john@example.org"}},
		{"**", []string{"anything at all"}, []string{""}},
		{"host-?.example.com", []string{"host-?.example.com"}, []string{"host-1.example.com"}},
		{`re:host-\d+\.example\.com`, []string{"host-42.example.com"}, []string{"HOST-42.example.com", "host-42.example.com.evil"}},
		{`re:(?i)[a-z]+\.internal`, []string{"DB.internal"}, []string{"db1.internal"}},
	} {
		ps, err := compilePatterns([]string{tc.pattern})
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		for _, n := range tc.yes {
			if !ps.match(n) {
				t.Errorf("%s does not match %q", tc.pattern, n)
			}
		}
		for _, n := range tc.no {
			if ps.match(n) {
				t.Errorf("%s matches %q", tc.pattern, n)
			}
		}
	}
	for _, bad := range []string{"", "re:(", strings.Repeat("a", maxPattern+1)} {
		if _, err := compilePattern(bad); !fault.Is(err, fault.InvalidArgument) {
			t.Errorf("pattern %q: got %v, want invalid_argument", bad, err)
		}
	}
}

var webProfile = Profile{
	Name: "web", Usage: Signing, KeyUsage: []string{"digitalSignature"}, ExtKeyUsage: []string{"serverAuth"},
	MaxTTL: 90 * 24 * time.Hour, AllowedCommonNames: []string{"*.example.com"}, AllowedDNSNames: []string{"*.example.com"},
	AllowedEmails: []string{"**@example.com"}, AllowedURIs: []string{"re:https://example\\.com/.*"}, AllowedIPs: []string{"10.0.0.0/8"},
}

func TestProfileViolationsNameTheRule(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	p, err := e.s.SetProfile(ctx, tenant, "root", webProfile)
	if err != nil {
		t.Fatal(err)
	}
	if p.DefaultTTL != 90*24*time.Hour {
		t.Errorf("default TTL %s, want the max TTL", p.DefaultTTL)
	}
	for _, tc := range []struct {
		name string
		tmpl smx509.CertificateRequest
		ttl  time.Duration
		rule string
	}{
		{"allowed", smx509.CertificateRequest{Subject: pkix.Name{CommonName: "www.example.com"}, DNSNames: []string{"www.example.com"}}, 0, ""},
		{"too long", smx509.CertificateRequest{Subject: pkix.Name{CommonName: "www.example.com"}}, 91 * 24 * time.Hour, "max_ttl"},
		{"common name", smx509.CertificateRequest{Subject: pkix.Name{CommonName: "www.evil.com"}}, 0, "allowed_common_names"},
		{"DNS name", smx509.CertificateRequest{DNSNames: []string{"a.b.example.com"}}, 0, "allowed_dns_names"},
		{"e-mail", smx509.CertificateRequest{EmailAddresses: []string{"x@evil.com"}}, 0, "allowed_emails"},
		{"IP", smx509.CertificateRequest{IPAddresses: ips("192.168.1.1")}, 0, "allowed_ips"},
		{"URI", smx509.CertificateRequest{URIs: []*url.URL{{Scheme: "https", Host: "evil.com"}}}, 0, "allowed_uris"},
	} {
		_, priv := newCSR(t, "unused")
		_, err := e.s.SignCSR(ctx, tenant, "root", SignCSRRequest{CSR: csrFor(t, priv, &tc.tmpl), Profile: "web", TTL: tc.ttl})
		if tc.rule == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		wantCode(t, tc.name, err, fault.ProfileViolation)
		if fe, ok := fault.As(err); ok && !strings.Contains(fe.Message, "rule "+tc.rule) {
			t.Errorf("%s: the message %q does not name rule %s", tc.name, fe.Message, tc.rule)
		}
	}
}

func TestSubCAProfile(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	if _, err := e.s.SetProfile(ctx, tenant, "root", Profile{
		Name: "subca", Usage: Signing, KeyUsage: []string{"digitalSignature"}, MaxTTL: 365 * 24 * time.Hour,
		AllowedCommonNames: []string{"**"}, CA: true, MaxPathLen: 0,
	}); err != nil {
		t.Fatal(err)
	}
	der, _ := newCSR(t, "Partner CA")
	c, err := e.s.SignCSR(ctx, tenant, "root", SignCSRRequest{CSR: der, Profile: "subca"})
	if err != nil {
		t.Fatal(err)
	}
	cert := parseCert(t, c.DER)
	if !cert.IsCA || !cert.MaxPathLenZero || cert.KeyUsage&smx509.KeyUsageCertSign == 0 || cert.KeyUsage&smx509.KeyUsageCRLSign == 0 {
		t.Errorf("sub-CA certificate: CA %v, path len zero %v, usage %b", cert.IsCA, cert.MaxPathLenZero, cert.KeyUsage)
	}
}

func TestProfileManagement(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	list, err := e.s.ListProfiles(ctx, tenant, "root")
	if err != nil || len(list) != 2 || list[0].Name != DefaultProfile || list[1].Name != DefaultEncryptionProfile {
		t.Fatalf("built-in profiles: %+v, %v", list, err)
	}
	if _, err := e.s.SetProfile(ctx, tenant, "root", webProfile); err != nil {
		t.Fatal(err)
	}
	narrow := webProfile
	narrow.Name, narrow.AllowedCommonNames = DefaultProfile, []string{"only.example.com"}
	if _, err := e.s.SetProfile(ctx, tenant, "root", narrow); err != nil {
		t.Fatal(err)
	}
	der, _ := newCSR(t, "other.example.com")
	_, err = e.s.SignCSR(ctx, tenant, "root", SignCSRRequest{CSR: der})
	wantCode(t, "the changed default profile", err, fault.ProfileViolation)
	if err := e.s.DeleteProfile(ctx, tenant, "root", DefaultProfile); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SignCSR(ctx, tenant, "root", SignCSRRequest{CSR: der}); err != nil {
		t.Errorf("the default profile is not back to its built-in rules: %v", err)
	}
	if err := e.s.DeleteProfile(ctx, tenant, "root", "web"); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.GetProfile(ctx, tenant, "root", "web")
	wantCode(t, "a deleted profile", err, fault.ProfileNotFound)
	wantCode(t, "deleting it again", e.s.DeleteProfile(ctx, tenant, "root", "web"), fault.ProfileNotFound)
	_, err = e.s.GetProfile(ctx, "other", "root", DefaultProfile)
	wantCode(t, "another tenant's CA", err, fault.CANotFound)
	_, err = e.s.SetProfile(ctx, tenant, "nope", webProfile)
	wantCode(t, "an unknown CA", err, fault.CANotFound)

	for _, tc := range []struct {
		name string
		edit func(p *Profile)
	}{
		{"bad name", func(p *Profile) { p.Name = "Web!" }},
		{"no usage", func(p *Profile) { p.Usage = "" }},
		{"no key usage", func(p *Profile) { p.KeyUsage = nil }},
		{"unknown key usage", func(p *Profile) { p.KeyUsage = []string{"everything"} }},
		{"encryption bit in a signing profile", func(p *Profile) { p.KeyUsage = []string{"keyEncipherment"} }},
		{"certSign outside a CA profile", func(p *Profile) { p.KeyUsage = []string{"certSign"} }},
		{"unknown extended key usage", func(p *Profile) { p.ExtKeyUsage = []string{"flying"} }},
		{"no max TTL", func(p *Profile) { p.MaxTTL = 0 }},
		{"default above max", func(p *Profile) { p.DefaultTTL = p.MaxTTL + time.Hour }},
		{"bad regex", func(p *Profile) { p.AllowedDNSNames = []string{"re:("} }},
		{"bad CIDR", func(p *Profile) { p.AllowedIPs = []string{"10.0.0.1"} }},
		{"path length without CA", func(p *Profile) { p.MaxPathLen = 2 }},
		{"encryption CA", func(p *Profile) { p.CA, p.Usage, p.KeyUsage = true, Encryption, []string{"keyEncipherment"} }},
	} {
		p := webProfile
		tc.edit(&p)
		_, err := e.s.SetProfile(ctx, tenant, "root", p)
		wantCode(t, tc.name, err, fault.InvalidArgument)
	}
}

// TestTimeStampingEKUIsCritical checks RFC 3161 section 2.3 on a
// certificate issued under a timestamping profile.
func TestTimeStampingEKUIsCritical(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	if _, err := e.s.SetProfile(ctx, tenant, "root", Profile{Name: "tsa", Usage: Signing, KeyUsage: []string{"digitalSignature", "contentCommitment"},
		ExtKeyUsage: []string{"timeStamping"}, MaxTTL: 24 * time.Hour, AllowedCommonNames: []string{"**"}}); err != nil {
		t.Fatal(err)
	}
	csr, _ := newCSR(t, "tsa")
	cert, err := e.s.SignCSR(ctx, tenant, "root", SignCSRRequest{CSR: csr, Profile: "tsa"})
	if err != nil {
		t.Fatal(err)
	}
	c := parseCert(t, cert.DER)
	var found bool
	for _, ext := range c.Extensions {
		if ext.Id.Equal(oidExtKeyUsage) {
			found = ext.Critical
		}
	}
	if !found || len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != smx509.ExtKeyUsageTimeStamping {
		t.Fatalf("EKU critical=%v usages=%v", found, c.ExtKeyUsage)
	}
}
