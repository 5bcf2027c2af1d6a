package cms

import (
	"encoding/asn1"
	"errors"
	"strings"
	"time"
)

// encoding/asn1 writes GeneralizedTime without fractions of a second and
// refuses to read them, which a TSA's genTime needs (RFC 3161 section
// 2.4.2): these do it.

const genTimeLayout = "20060102150405"

// genTime encodes t in UTC as a GeneralizedTime with as many fractional
// digits as step (a power of ten, from 1µs to 1s) calls for, trailing
// zeros dropped, as RFC 3161 requires.
func genTime(t time.Time, step time.Duration) asn1.RawValue {
	t = t.UTC().Truncate(step)
	s := t.Format(genTimeLayout)
	if frac := t.Nanosecond(); frac > 0 {
		digits := strings.TrimRight(strings.TrimPrefix(t.Format(".000000"), "."), "0")
		s += "." + digits
	}
	s += "Z"
	return asn1.RawValue{Tag: asn1.TagGeneralizedTime, Bytes: []byte(s)}
}

// parseGenTime reads a GeneralizedTime in UTC, with or without a
// fraction of a second.
func parseGenTime(v asn1.RawValue) (time.Time, error) {
	s := string(v.Bytes)
	if v.Class != asn1.ClassUniversal || v.Tag != asn1.TagGeneralizedTime || !strings.HasSuffix(s, "Z") || len(s) < len(genTimeLayout)+1 {
		return time.Time{}, errors.New("cms: genTime is not a UTC GeneralizedTime")
	}
	main, frac := s[:len(genTimeLayout)], s[len(genTimeLayout):len(s)-1]
	t, err := time.Parse(genTimeLayout, main)
	if err != nil {
		return time.Time{}, err
	}
	if frac == "" {
		return t, nil
	}
	if len(frac) < 2 || len(frac) > 10 || frac[0] != '.' || strings.TrimLeft(frac[1:], "0123456789") != "" {
		return time.Time{}, errors.New("cms: genTime has a malformed fraction of a second")
	}
	d, err := time.ParseDuration("0" + frac + "s")
	if err != nil {
		return time.Time{}, err
	}
	return t.Add(d), nil
}
