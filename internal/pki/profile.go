package pki

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"net/netip"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
)

// Bounds of profile validities.
const (
	MaxProfileTTL     = 30 * 365 * 24 * time.Hour
	defaultProfileTTL = 90 * 24 * time.Hour
	maxPatterns       = 100
)

// Profile is a set of rules for the certificates a CA issues. A request
// that breaks a rule is refused with code profile_violation and a message
// naming the rule, by the name given in brackets below.
//
// Name patterns are globs unless they start with RegexPrefix ("re:"). A
// glob matches the whole name, ignoring case: "*" stands for one or more
// characters other than '.' (one DNS label: "*.example.com" matches
// "www.example.com" but neither "a.b.example.com" nor "example.com"),
// "**" for one or more characters of any kind ("**.example.com",
// "**@example.com"; "**" alone allows every name) and every other
// character for itself. After "re:" comes an RE2 regular expression (Go
// regexp syntax) that must match the whole name, case-sensitive unless it
// starts with (?i). An empty list allows no name of its kind.
type Profile struct {
	Name string `json:"name"`
	// Usage is Signing or Encryption [usage]: IssueDual requires a signing
	// profile for the signing certificate and an encryption profile for
	// the encryption certificate.
	Usage Usage `json:"usage"`
	// KeyUsage lists the key usage bits of every certificate: for signing,
	// digitalSignature and contentCommitment (and, in CA profiles,
	// certSign and crlSign, which CA profiles always get); for encryption,
	// keyEncipherment, dataEncipherment and keyAgreement.
	KeyUsage []string `json:"key_usage"`
	// ExtKeyUsage lists the extended key usages of every certificate:
	// any, serverAuth, clientAuth, codeSigning, emailProtection,
	// timeStamping, ocspSigning.
	ExtKeyUsage []string `json:"ext_key_usage,omitempty"`
	// MaxTTL is the longest validity a request may ask for [max_ttl], at
	// most MaxProfileTTL. A certificate never outlives its CA: its
	// notAfter is cut to the CA's.
	MaxTTL time.Duration `json:"max_ttl"`
	// DefaultTTL is the validity of a request that asks for none; 0 means
	// the lesser of MaxTTL and 90 days.
	DefaultTTL time.Duration `json:"default_ttl"`
	// AllowedCommonNames are patterns the subject common name must match
	// [allowed_common_names]; an empty common name is always allowed.
	AllowedCommonNames []string `json:"allowed_common_names,omitempty"`
	// AllowedDNSNames, AllowedEmails and AllowedURIs are patterns every
	// DNS, e-mail and URI subject alternative name must match
	// [allowed_dns_names, allowed_emails, allowed_uris].
	AllowedDNSNames []string `json:"allowed_dns_names,omitempty"`
	AllowedEmails   []string `json:"allowed_emails,omitempty"`
	AllowedURIs     []string `json:"allowed_uris,omitempty"`
	// AllowedIPs are CIDR prefixes ("10.0.0.0/8", "::/0") every IP
	// subject alternative name must fall in [allowed_ips].
	AllowedIPs []string `json:"allowed_ips,omitempty"`
	// CA makes the profile issue CA certificates (sub-CAs, through
	// SignCSR) [ca: only CA profiles issue CA certificates], with
	// MaxPathLen as their path length constraint (UnlimitedPathLen for
	// none), which must be below the issuing CA's own [max_path_len].
	CA         bool `json:"ca,omitempty"`
	MaxPathLen int  `json:"max_path_len,omitempty"`
}

// profile is a checked Profile, ready to apply.
type profile struct {
	Profile
	ku                 smx509.KeyUsage
	eku                []smx509.ExtKeyUsage
	cn, dns, email, ur patterns
	ips                []netip.Prefix
}

// compile checks p and fills in its defaults.
func compile(p Profile) (*profile, error) {
	if err := checkNewName("profile", p.Name); err != nil {
		return nil, err
	}
	if p.Usage != Signing && p.Usage != Encryption {
		return nil, fault.Invalid("a profile's usage is %q or %q", Signing, Encryption)
	}
	if p.CA && p.Usage != Signing {
		return nil, fault.Invalid("a CA profile's usage is %q", Signing)
	}
	if p.MaxPathLen < UnlimitedPathLen || !p.CA && p.MaxPathLen != 0 {
		return nil, fault.Invalid("max_path_len applies to CA profiles only, and is at least %d (unlimited)", UnlimitedPathLen)
	}
	if p.MaxTTL <= 0 || p.MaxTTL > MaxProfileTTL || p.DefaultTTL < 0 || p.DefaultTTL > p.MaxTTL {
		return nil, fault.Invalid("max_ttl must be positive and at most %s, and default_ttl at most max_ttl", MaxProfileTTL)
	}
	if p.DefaultTTL == 0 {
		p.DefaultTTL = min(p.MaxTTL, defaultProfileTTL)
	}
	c := &profile{Profile: p}
	var err error
	if c.ku, err = keyUsageOf(p.KeyUsage, p.Usage, p.CA); err != nil {
		return nil, err
	}
	if c.eku, err = extKeyUsageOf(p.ExtKeyUsage); err != nil {
		return nil, err
	}
	for _, l := range []struct {
		src []string
		dst *patterns
	}{{p.AllowedCommonNames, &c.cn}, {p.AllowedDNSNames, &c.dns}, {p.AllowedEmails, &c.email}, {p.AllowedURIs, &c.ur}} {
		if len(l.src) > maxPatterns {
			return nil, fault.Invalid("a profile has at most %d patterns per list", maxPatterns)
		}
		if *l.dst, err = compilePatterns(l.src); err != nil {
			return nil, err
		}
	}
	if len(p.AllowedIPs) > maxPatterns {
		return nil, fault.Invalid("a profile has at most %d patterns per list", maxPatterns)
	}
	for _, s := range p.AllowedIPs {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fault.Invalid("allowed IP %q is not a CIDR prefix", s)
		}
		c.ips = append(c.ips, pfx.Masked())
	}
	return c, nil
}

// validity checks a requested validity and returns the one to use.
func (p *profile) validity(ttl time.Duration) (time.Duration, error) {
	switch {
	case ttl < 0:
		return 0, fault.Invalid("the validity (ttl) cannot be negative")
	case ttl == 0:
		return p.DefaultTTL, nil
	case ttl > p.MaxTTL:
		return 0, violation(p.Name, "max_ttl", "the requested validity %s is longer than %s", ttl, p.MaxTTL)
	}
	return ttl, nil
}

// checkNames checks a subject common name and alternative names against
// the profile.
func (p *profile) checkNames(cn string, sans SANs) error {
	if cn != "" && !p.cn.match(cn) {
		return violation(p.Name, "allowed_common_names", "common name %q matches none of %q", cn, p.cn.src)
	}
	for _, l := range []struct {
		rule  string
		names []string
		ps    patterns
	}{{"allowed_dns_names", sans.DNS, p.dns}, {"allowed_emails", sans.Email, p.email}, {"allowed_uris", sans.URI, p.ur}} {
		for _, n := range l.names {
			if !l.ps.match(n) {
				return violation(p.Name, l.rule, "%q matches none of %q", n, l.ps.src)
			}
		}
	}
	for _, s := range sans.IP {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return fault.Invalid("%q is not a valid IP address", s)
		}
		if !p.allowsIP(ip.Unmap()) {
			return violation(p.Name, "allowed_ips", "%s is in none of %q", s, p.AllowedIPs)
		}
	}
	return nil
}

func (p *profile) allowsIP(ip netip.Addr) bool {
	for _, pfx := range p.ips {
		if pfx.Contains(ip) {
			return true
		}
	}
	return false
}

// oidTimeStamping and oidExtKeyUsage name id-kp-timeStamping and the
// extended key usage extension.
var (
	oidTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	oidExtKeyUsage  = asn1.ObjectIdentifier{2, 5, 29, 37}
)

// apply sets the profile's usages and basic constraints on a template. A
// timestamping certificate gets its extended key usage as RFC 3161 section
// 2.3 requires: timeStamping alone, in a critical extension.
func (p *profile) apply(t *smx509.Certificate) {
	t.KeyUsage, t.ExtKeyUsage = p.ku, p.eku
	if len(p.eku) == 1 && p.eku[0] == smx509.ExtKeyUsageTimeStamping {
		value, _ := asn1.Marshal([]asn1.ObjectIdentifier{oidTimeStamping}) // cannot fail
		t.ExtKeyUsage = nil
		t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: oidExtKeyUsage, Critical: true, Value: value})
	}
	t.BasicConstraintsValid, t.IsCA = true, p.CA
	if p.CA {
		t.MaxPathLen, t.MaxPathLenZero = p.MaxPathLen, p.MaxPathLen == 0
	}
}
