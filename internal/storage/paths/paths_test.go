package paths

import (
	"fmt"
	"testing"
)

// TestPathsPinned pins the on-disk layout: stored data is found by these
// strings, so a change here would lose it. Each path also parses back.
func TestPathsPinned(t *testing.T) {
	for _, c := range []struct {
		p     fmt.Stringer
		want  string
		parse func(string) (fmt.Stringer, bool)
	}{
		{Key{"acme", "k1"}, "t/acme/keys/k1", wrap(ParseKey)},
		{Alias{"acme", "a1"}, "t/acme/aliases/a1", wrap(ParseAlias)},
		{Policy{"acme", "p1"}, "t/acme/policies/p1", wrap(ParsePolicy)},
		{CA{"acme", "root"}, "t/acme/pki/cas/root", wrap(ParseCA)},
		{Profile{"acme", "root", "tls"}, "t/acme/pki/profiles/root/tls", wrap(ParseProfile)},
		{TSA{"acme", "ts"}, "t/acme/cms/tsas/ts", wrap(ParseTSA)},
		{Tenant{"acme"}, "tenants/acme", wrap(ParseTenant)},
		{Token{"a1b2"}, "tokens/a1b2", wrap(ParseToken)},
		{Deployment{"d1"}, "v2x/deployments/d1", wrap(ParseDeployment)},
	} {
		if got := c.p.String(); got != c.want {
			t.Errorf("%#v: %q, want %q", c.p, got, c.want)
		}
		if back, ok := c.parse(c.want); !ok || back != c.p {
			t.Errorf("parse %q: %#v, %v", c.want, back, ok)
		}
	}
	for got, want := range map[string]string{
		TenantRoot("acme"):      "t/acme/",
		Keys("acme"):            "t/acme/keys/",
		Aliases("acme"):         "t/acme/aliases/",
		Policies("acme"):        "t/acme/policies/",
		PKI("acme"):             "t/acme/pki/",
		CAs("acme"):             "t/acme/pki/cas/",
		Profiles("acme", "ca1"): "t/acme/pki/profiles/ca1/",
		TSAs("acme"):            "t/acme/cms/tsas/",
		Tenants:                 "tenants/",
		Tokens:                  "tokens/",
		Deployments:             "v2x/deployments/",
	} {
		if got != want {
			t.Errorf("prefix %q, want %q", got, want)
		}
	}
}

func wrap[P fmt.Stringer](parse func(string) (P, bool)) func(string) (fmt.Stringer, bool) {
	return func(s string) (fmt.Stringer, bool) { return parse(s) }
}

// TestParseRefuses: paths of other kinds, with empty or extra segments,
// name nothing.
func TestParseRefuses(t *testing.T) {
	for _, p := range []string{
		"", "t/", "t/acme/keys/", "t//keys/k", "t/acme/keys/k/extra", "t/acme/aliases/a",
		"x/acme/keys/k", "t/acme/destroyed/k", "/t/acme/keys/k",
	} {
		if k, ok := ParseKey(p); ok {
			t.Errorf("ParseKey(%q) = %#v", p, k)
		}
	}
	for _, p := range []string{"t/acme/pki/profiles/root", "t/acme/pki/profiles/root/tls/x", "t/acme/pki/cas/root/x"} {
		if v, ok := ParseProfile(p); ok {
			t.Errorf("ParseProfile(%q) = %#v", p, v)
		}
		if v, ok := ParseCA(p); ok {
			t.Errorf("ParseCA(%q) = %#v", p, v)
		}
	}
	if v, ok := ParseToken("tokens/a/b"); ok {
		t.Errorf("ParseToken: %#v", v)
	}
	if v, ok := ParseTenant("tenants/"); ok {
		t.Errorf("ParseTenant: %#v", v)
	}
}
