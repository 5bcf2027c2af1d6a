package ieee1609

import (
	"testing"
	"time"
)

func TestTime32(t *testing.T) {
	if Time32Of(Epoch) != 0 || Time32Of(Epoch.Add(-time.Hour)) != 0 {
		t.Fatal("the epoch is not 0")
	}
	// Five leap seconds were inserted between 2004 and 2017 (the last one
	// at the end of 2016), so 2017-01-01 UTC is 5 s later in TAI seconds.
	utc := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	if got, want := Time32Of(utc), Time32(utc.Sub(Epoch)/time.Second+5); got != want {
		t.Fatalf("Time32Of(2017-01-01) = %d, want %d", got, want)
	}
	for _, u := range []time.Time{utc, time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC), time.Date(2005, 6, 1, 0, 0, 0, 0, time.UTC)} {
		if back := Time32Of(u).Time(); !back.Equal(u) {
			t.Errorf("%s round-trips to %s", u, back)
		}
		if back := Time64Of(u).Time(); !back.Equal(u) {
			t.Errorf("%s round-trips to %s (Time64)", u, back)
		}
	}
	v := ValidityPeriod{Start: Time32Of(utc), Duration: Hours(24)}
	if !v.Contains(utc) || !v.Contains(utc.Add(23*time.Hour)) || v.Contains(utc.Add(24*time.Hour)) || v.Contains(utc.Add(-time.Second)) {
		t.Error("Contains")
	}
	years := uint16(1)
	if (Duration{Years: &years}).Length() != 31556952*time.Second {
		t.Error("a year is 31556952 s")
	}
}
