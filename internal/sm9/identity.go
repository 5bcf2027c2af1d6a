package sm9

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mimacrypto/mima/internal/fault"
)

// expiry returns the end of the validity period id carries after sep
// (the first instant it is no longer valid), or the zero time when it
// carries none. The periods, in UTC, are a year "2026", a quarter
// "2026-Q4", a month "2026-10" and a day "2026-10-31".
func expiry(id, sep string) (time.Time, error) {
	if sep == "" {
		return time.Time{}, nil
	}
	i := strings.LastIndex(id, sep)
	if i < 0 {
		return time.Time{}, nil
	}
	p := id[i+len(sep):]
	bad := fault.Invalid("identity %q: the validity period after %q must be 2026, 2026-Q4, 2026-10 or 2026-10-31", id, sep)
	switch {
	case len(p) == 4:
		y, err := strconv.Atoi(p)
		if err != nil {
			return time.Time{}, bad
		}
		return time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC), nil
	case len(p) == 7 && p[5] == 'Q':
		y, err1 := strconv.Atoi(p[:4])
		q, err2 := strconv.Atoi(p[6:])
		if err1 != nil || err2 != nil || p[4] != '-' || q < 1 || q > 4 {
			return time.Time{}, bad
		}
		return time.Date(y, time.Month(3*q+1), 1, 0, 0, 0, 0, time.UTC), nil
	case len(p) == 7:
		t, err := time.Parse("2006-01", p)
		if err != nil {
			return time.Time{}, bad
		}
		return t.AddDate(0, 1, 0), nil
	case len(p) == 10:
		t, err := time.Parse("2006-01-02", p)
		if err != nil {
			return time.Time{}, bad
		}
		return t.AddDate(0, 0, 1), nil
	}
	return time.Time{}, bad
}

// checkIdentity refuses an identity that is malformed or, at now, expired.
func (s *Service) checkIdentity(id string) error {
	if id == "" || len(id) > MaxIdentity || !utf8.ValidString(id) {
		return fault.Invalid("an identity is 1 to %d bytes of UTF-8", MaxIdentity)
	}
	end, err := expiry(id, s.sep)
	if err != nil {
		return err
	}
	if !end.IsZero() && !s.now().Before(end) {
		return fault.New(fault.IdentityExpired, "identity %q expired at %s", id, end.Format(time.RFC3339))
	}
	return nil
}
