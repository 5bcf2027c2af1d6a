// Package duration parses the durations that mima's configuration, API and
// command line accept: Go's syntax ("90s", "15m", "2h45m") plus days, as a
// leading whole number of "d" ("30d", "1d12h"), since certificate and token
// lifetimes are counted in days. A day is 24 hours.
package duration

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxDays keeps days*24h within a time.Duration (about 292 years).
const maxDays = 100_000

// Parse reads a duration in Go's syntax, optionally led by whole days.
func Parse(s string) (time.Duration, error) {
	days, rest, ok := strings.Cut(s, "d")
	if !ok {
		return time.ParseDuration(s)
	}
	n, err := strconv.Atoi(days)
	if err != nil || n < 0 || n > maxDays || strings.HasPrefix(days, "+") {
		return 0, fmt.Errorf("duration %q: days must be a whole number from 0 to %d, as in 30d or 1d12h", s, maxDays)
	}
	d := time.Duration(n) * 24 * time.Hour
	if rest == "" {
		return d, nil
	}
	r, err := time.ParseDuration(rest)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	if r < 0 {
		return 0, errors.New("duration " + strconv.Quote(s) + ": the part after the days must not be negative")
	}
	return d + r, nil
}

// Value is a command-line flag value (pflag.Value) holding a duration
// that Parse reads.
type Value struct{ D *time.Duration }

// String shows the duration in Go's syntax.
func (v Value) String() string {
	if v.D == nil {
		return "0s"
	}
	return v.D.String()
}

// Set parses s.
func (v Value) Set(s string) error {
	d, err := Parse(s)
	if err != nil {
		return err
	}
	*v.D = d
	return nil
}

// Type names the flag's type in help.
func (Value) Type() string { return "duration" }
