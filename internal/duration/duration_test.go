package duration

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30d", 30 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"0d", 0, true},
		{"720h", 720 * time.Hour, true},
		{"90s", 90 * time.Second, true},
		{"1.5h", 90 * time.Minute, true},
		{"365d", 365 * 24 * time.Hour, true},
		{"d", 0, false},
		{"-1d", 0, false},
		{"+1d", 0, false},
		{"1.5d", 0, false},
		{"1d-1h", 0, false},
		{"1dx", 0, false},
		{"100001d", 0, false},
		{"30 days", 0, false},
		{"", 0, false},
	} {
		got, err := Parse(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestValue(t *testing.T) {
	var d time.Duration
	v := Value{&d}
	if err := v.Set("2d"); err != nil || d != 48*time.Hour || v.String() != "48h0m0s" || v.Type() != "duration" {
		t.Fatalf("Set(2d): %v %v %q", err, d, v.String())
	}
	if err := v.Set("two days"); err == nil || d != 48*time.Hour {
		t.Fatalf("a bad value was taken: %v %v", err, d)
	}
}
