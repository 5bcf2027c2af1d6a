package gateway

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

func TestSubjectPatterns(t *testing.T) {
	subject := pkix.Name{Names: []pkix.AttributeTypeAndValue{
		{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "CN"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "Hospital, Inc"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 11}, Value: "Radiology"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "pacs.example"},
	}}
	for _, tc := range []struct {
		pattern string
		match   bool
	}{
		{"CN=pacs.example", true},
		{"cn=pacs.example", true},
		{`CN=pacs.example,O=Hospital\, Inc`, true},
		{`O=Hospital\, Inc, CN=pacs.example`, true},
		{`/C=CN/O=Hospital, Inc/OU=Radiology/CN=pacs.example`, true},
		{"2.5.4.11=Radiology", true},
		{"CN=PACS.example", false},
		{"CN=pacs.example,OU=Billing", false},
		{"CN=pacs", false},
		{"L=Beijing", false},
	} {
		p, err := parseSubject(tc.pattern)
		if err != nil {
			t.Errorf("%s: %v", tc.pattern, err)
			continue
		}
		if got := p.matches(subject); got != tc.match {
			t.Errorf("%s matches = %v, want %v", tc.pattern, got, tc.match)
		}
	}
	for _, bad := range []string{"", "/", "pacs.example", "=x", "XYZ=1", "1=x", "2.5.x=y", "CN=a,,O=b"} {
		if _, err := parseSubject(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func FuzzParseSubject(f *testing.F) {
	for _, s := range []string{"CN=a", `/O=b\/c/CN=d`, `CN=a\,b,2.5.4.3=c`, "ou = x , cn=y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseSubject(s)
		if err != nil {
			return
		}
		// A parsed pattern matches the subject made of its own attributes.
		if !p.matches(pkix.Name{Names: p}) {
			t.Fatalf("%q does not match its own attributes", s)
		}
	})
}
