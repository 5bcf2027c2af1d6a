package gateway

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"
)

// subjectPattern is an allowed peer subject: attribute type and value
// pairs that the peer's signing certificate subject must all hold.
type subjectPattern []pkix.AttributeTypeAndValue

// attributeTypes are the short names a pattern may use (RFC 4514 3, plus
// the ones X.509 subjects in China carry).
var attributeTypes = map[string]asn1.ObjectIdentifier{
	"CN":           {2, 5, 4, 3},
	"SERIALNUMBER": {2, 5, 4, 5},
	"C":            {2, 5, 4, 6},
	"L":            {2, 5, 4, 7},
	"ST":           {2, 5, 4, 8},
	"STREET":       {2, 5, 4, 9},
	"O":            {2, 5, 4, 10},
	"OU":           {2, 5, 4, 11},
	"POSTALCODE":   {2, 5, 4, 17},
	"EMAILADDRESS": {1, 2, 840, 113549, 1, 9, 1},
	"UID":          {0, 9, 2342, 19200300, 100, 1, 1},
	"DC":           {0, 9, 2342, 19200300, 100, 1, 25},
}

// parseSubject reads a pattern written as an RFC 4514 string
// ("CN=app,O=Hospital", as Go and the audit records print subjects) or in
// OpenSSL's form ("/O=Hospital/CN=app"). Types are short names (any case)
// or dotted OIDs; a backslash escapes the next character. Order does not
// matter.
func parseSubject(s string) (subjectPattern, error) {
	sep := ','
	if strings.HasPrefix(s, "/") {
		sep, s = '/', s[1:]
	}
	var p subjectPattern
	for _, part := range splitEscaped(s, sep) {
		typ, value, ok := strings.Cut(part, "=")
		typ = strings.TrimSpace(typ)
		if !ok || typ == "" {
			return nil, fmt.Errorf("subject %q: %q is not TYPE=value", s, part)
		}
		oid, err := attributeType(typ)
		if err != nil {
			return nil, fmt.Errorf("subject %q: %w", s, err)
		}
		p = append(p, pkix.AttributeTypeAndValue{Type: oid, Value: unescape(strings.TrimLeft(value, " "))})
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("subject %q names no attribute", s)
	}
	return p, nil
}

func attributeType(typ string) (asn1.ObjectIdentifier, error) {
	if oid, ok := attributeTypes[strings.ToUpper(typ)]; ok {
		return oid, nil
	}
	var oid asn1.ObjectIdentifier
	for _, arc := range strings.Split(typ, ".") {
		var n int
		if _, err := fmt.Sscanf(arc, "%d", &n); err != nil || n < 0 || fmt.Sprint(n) != arc {
			return nil, fmt.Errorf("unknown attribute type %q", typ)
		}
		oid = append(oid, n)
	}
	if len(oid) < 2 {
		return nil, fmt.Errorf("unknown attribute type %q", typ)
	}
	return oid, nil
}

// splitEscaped splits s at each sep not preceded by a backslash, keeping
// the escapes for unescape.
func splitEscaped(s string, sep rune) []string {
	var parts []string
	var cur strings.Builder
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case r == sep:
			parts = append(parts, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteRune(r)
	}
	if cur.Len() > 0 || len(parts) > 0 {
		parts = append(parts, cur.String())
	}
	return parts
}

// unescape drops each escaping backslash.
func unescape(s string) string {
	var b strings.Builder
	escaped := false
	for _, r := range s {
		if r == '\\' && !escaped {
			escaped = true
			continue
		}
		escaped = false
		b.WriteRune(r)
	}
	return b.String()
}

// matches reports whether subject holds every attribute of the pattern.
func (p subjectPattern) matches(subject pkix.Name) bool {
	for _, want := range p {
		found := false
		for _, have := range subject.Names {
			if have.Type.Equal(want.Type) && fmt.Sprint(have.Value) == want.Value {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
