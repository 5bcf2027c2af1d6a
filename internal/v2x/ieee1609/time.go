package ieee1609

import "time"

// Epoch is the origin of Time32 and Time64: 2004-01-01 00:00:00 UTC, from
// which IEEE 1609.2-2022 (6.4.15) counts TAI seconds, so leap seconds
// inserted since then are counted too.
var Epoch = time.Date(2004, 1, 1, 0, 0, 0, 0, time.UTC)

// leapSeconds are the UTC leap seconds inserted since the epoch.
var leapSeconds = []time.Time{
	time.Date(2006, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(2009, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(2012, 7, 1, 0, 0, 0, 0, time.UTC),
	time.Date(2015, 7, 1, 0, 0, 0, 0, time.UTC),
	time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC),
}

// leapsBefore counts the leap seconds inserted before t.
func leapsBefore(t time.Time) time.Duration {
	n := 0
	for _, l := range leapSeconds {
		if !t.Before(l) {
			n++
		}
	}
	return time.Duration(n) * time.Second
}

// Time32Of is t as Time32, truncated to the second; times before the
// epoch give 0.
func Time32Of(t time.Time) Time32 {
	d := t.Sub(Epoch) + leapsBefore(t)
	if d < 0 {
		return 0
	}
	return Time32(d / time.Second)
}

// Time64Of is t as Time64 (microseconds).
func Time64Of(t time.Time) Time64 {
	d := t.Sub(Epoch) + leapsBefore(t)
	if d < 0 {
		return 0
	}
	return Time64(d / time.Microsecond)
}

// Time is the UTC time of a Time32.
func (t Time32) Time() time.Time {
	u := Epoch.Add(time.Duration(t) * time.Second)
	return u.Add(-leapsBefore(u.Add(-leapsBefore(u))))
}

// Time is the UTC time of a Time64.
func (t Time64) Time() time.Time {
	u := Epoch.Add(time.Duration(t) * time.Microsecond)
	return u.Add(-leapsBefore(u.Add(-leapsBefore(u))))
}

// Length is the duration of d; IEEE 1609.2-2022 6.4.16 counts a year as
// 31556952 seconds.
func (d Duration) Length() time.Duration {
	switch {
	case d.Microseconds != nil:
		return time.Duration(*d.Microseconds) * time.Microsecond
	case d.Milliseconds != nil:
		return time.Duration(*d.Milliseconds) * time.Millisecond
	case d.Seconds != nil:
		return time.Duration(*d.Seconds) * time.Second
	case d.Minutes != nil:
		return time.Duration(*d.Minutes) * time.Minute
	case d.Hours != nil:
		return time.Duration(*d.Hours) * time.Hour
	case d.SixtyHours != nil:
		return time.Duration(*d.SixtyHours) * 60 * time.Hour
	case d.Years != nil:
		return time.Duration(*d.Years) * 31556952 * time.Second
	}
	return 0
}

// Hours is a Duration of h hours.
func Hours(h uint16) Duration { return Duration{Hours: &h} }

// Contains reports whether t lies in the validity period [start,
// start+duration).
func (v ValidityPeriod) Contains(t time.Time) bool {
	start := v.Start.Time()
	return !t.Before(start) && t.Before(start.Add(v.Duration.Length()))
}

// End is when the validity period ends.
func (v ValidityPeriod) End() time.Time { return v.Start.Time().Add(v.Duration.Length()) }
