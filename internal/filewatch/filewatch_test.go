package filewatch

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestValue: the value is read again only once Recheck has passed and a
// file changed; a read that fails keeps the last good value.
func TestValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "value")
	write := func(s string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	read := func() (string, error) {
		b, err := os.ReadFile(path)
		if string(b) == "bad" {
			return "", errors.New("bad content")
		}
		return string(b), err
	}
	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	write("one", start)
	v, err := New(read, path)
	if err != nil {
		t.Fatal(err)
	}
	clock := start
	v.SetClock(func() time.Time { return clock })
	v.checked = clock

	write("two", start.Add(time.Minute))
	if got := v.Get(); got != "one" {
		t.Fatalf("before Recheck: %q", got)
	}
	clock = clock.Add(Recheck)
	if got := v.Get(); got != "two" {
		t.Fatalf("after Recheck and a change: %q", got)
	}
	write("bad", start.Add(2*time.Minute))
	clock = clock.Add(Recheck)
	if got := v.Get(); got != "two" {
		t.Fatalf("after a bad change: %q", got)
	}
	write("three", start.Add(3*time.Minute))
	clock = clock.Add(Recheck)
	if got := v.Get(); got != "three" {
		t.Fatalf("after the file was mended: %q", got)
	}

	if _, err := New(read, filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing file was accepted")
	}
	write("bad", start)
	if _, err := New(read, path); err == nil {
		t.Error("a value that does not read was accepted")
	}
}
