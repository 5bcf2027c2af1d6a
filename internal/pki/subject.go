package pki

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
)

// Limits on names in requests.
const (
	maxNameValue = 256
	maxSANs      = 100
)

// Name is a distinguished name: the subject of a certificate.
type Name struct {
	CommonName         string
	Organization       []string
	OrganizationalUnit []string
	Country            []string
	Province           []string
	Locality           []string
}

func (n Name) pkix() pkix.Name {
	return pkix.Name{
		CommonName: n.CommonName, Organization: n.Organization, OrganizationalUnit: n.OrganizationalUnit,
		Country: n.Country, Province: n.Province, Locality: n.Locality,
	}
}

func (n Name) empty() bool {
	return n.CommonName == "" && len(n.Organization)+len(n.OrganizationalUnit)+len(n.Country)+len(n.Province)+len(n.Locality) == 0
}

func (n Name) check() error {
	for _, v := range slices.Concat([]string{n.CommonName}, n.Organization, n.OrganizationalUnit, n.Country, n.Province, n.Locality) {
		if len(v) > maxNameValue {
			return fault.Invalid("subject attributes are at most %d bytes", maxNameValue)
		}
		if err := checkText("the subject", v); err != nil {
			return err
		}
	}
	return nil
}

// hiddenRune reports whether r may not appear in a subject or alternative
// name, whatever the profile: NUL, which ends a name early for C code, and
// the Unicode bidirectional controls (U+061C, U+200E, U+200F,
// U+202A–U+202E, U+2066–U+2069), which make a name display as another.
func hiddenRune(r rune) bool {
	switch {
	case r == 0, r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case 0x202a <= r && r <= 0x202e, 0x2066 <= r && r <= 0x2069:
		return true
	}
	return false
}

// checkText refuses a name holding a hiddenRune; the message names the
// character, not the value.
func checkText(what, v string) error {
	if i := strings.IndexFunc(v, hiddenRune); i >= 0 {
		r, _ := utf8.DecodeRuneInString(v[i:])
		return fault.Invalid("%s may not contain the control character %U", what, r)
	}
	return nil
}

// checkSubjectDER applies checkText to every string attribute of a DER
// subject that came from a CSR or an earlier certificate.
func checkSubjectDER(der []byte) error {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &rdns); err != nil || len(rest) > 0 {
		return fault.Invalid("the subject cannot be parsed")
	}
	for _, rdn := range rdns {
		for _, atv := range rdn {
			if v, ok := atv.Value.(string); ok {
				if err := checkText("the subject", v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// SANs are the subject alternative names of a certificate.
type SANs struct {
	DNS   []string `json:"dns,omitempty"`
	Email []string `json:"email,omitempty"`
	// IP addresses, IPv4 or IPv6, in text form.
	IP []string `json:"ip,omitempty"`
	// URI are absolute URIs.
	URI []string `json:"uri,omitempty"`
}

func (s SANs) count() int { return len(s.DNS) + len(s.Email) + len(s.IP) + len(s.URI) }

// check applies checkText to every name.
func (s SANs) check() error {
	for _, v := range slices.Concat(s.DNS, s.Email, s.IP, s.URI) {
		if err := checkText("a subject alternative name", v); err != nil {
			return err
		}
	}
	return nil
}

// sansOf returns the names of a certificate or CSR.
func sansOf(dns, email []string, ips []net.IP, uris []*url.URL) SANs {
	s := SANs{DNS: dns, Email: email}
	for _, ip := range ips {
		s.IP = append(s.IP, ip.String())
	}
	for _, u := range uris {
		s.URI = append(s.URI, u.String())
	}
	return s
}

// apply checks the names and sets them on a certificate template.
func (s SANs) apply(t *smx509.Certificate) error {
	if s.count() > maxSANs {
		return fault.Invalid("a certificate has at most %d subject alternative names", maxSANs)
	}
	for _, d := range s.DNS {
		if !validDNSName(d) {
			return fault.Invalid("%q is not a valid DNS name", d)
		}
	}
	for _, e := range s.Email {
		// An rfc822Name is an IA5String: ASCII only.
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e || !isASCII(e) {
			return fault.Invalid("%q is not a valid ASCII e-mail address", e)
		}
	}
	for _, v := range s.IP {
		ip := net.ParseIP(v)
		if ip == nil {
			return fault.Invalid("%q is not a valid IP address", v)
		}
		t.IPAddresses = append(t.IPAddresses, ip)
	}
	for _, v := range s.URI {
		u, err := url.Parse(v)
		if err != nil || !u.IsAbs() || len(v) > maxNameValue {
			return fault.Invalid("%q is not a valid absolute URI", v)
		}
		t.URIs = append(t.URIs, u)
	}
	t.DNSNames, t.EmailAddresses = s.DNS, s.Email
	return nil
}

// isASCII reports whether s is ASCII.
func isASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r > unicode.MaxASCII })
}

// validDNSName reports whether d is a DNS name, possibly with a leading
// "*." wildcard label.
func validDNSName(d string) bool {
	d = strings.TrimPrefix(d, "*.")
	if d == "" || len(d) > 253 {
		return false
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// nameDER encodes a subject.
func nameDER(n Name) ([]byte, error) {
	if err := n.check(); err != nil {
		return nil, err
	}
	der, err := asn1.Marshal(n.pkix().ToRDNSequence())
	if err != nil {
		return nil, fault.Invalid("the subject cannot be encoded: %v", err)
	}
	return der, nil
}
