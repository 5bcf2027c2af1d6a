// Package filewatch keeps a value read from files current while a
// process runs: certificates and keys, CRLs. It looks at the files'
// modification times at most every Recheck and reads them again when one
// changed; a read that fails keeps the last good value in force, so that
// a half-written file never takes a server down.
package filewatch

import (
	"os"
	"sync"
	"time"
)

// Recheck is how often the files' modification times are looked at.
const Recheck = 10 * time.Second

// Value is a T read from files.
type Value[T any] struct {
	files []string
	read  func() (T, error)
	now   func() time.Time

	mu      sync.Mutex
	cur     T
	mtimes  map[string]time.Time
	checked time.Time
}

// New reads the value once with read, which reads files; an error then is
// returned.
func New[T any](read func() (T, error), files ...string) (*Value[T], error) {
	v := &Value[T]{files: files, read: read, now: time.Now}
	if err := v.load(); err != nil {
		return nil, err
	}
	return v, nil
}

// load reads the value and notes the files' modification times.
func (v *Value[T]) load() error {
	mtimes := map[string]time.Time{}
	for _, f := range v.files {
		info, err := os.Stat(f)
		if err != nil {
			return err
		}
		mtimes[f] = info.ModTime()
	}
	cur, err := v.read()
	if err != nil {
		return err
	}
	v.cur, v.mtimes, v.checked = cur, mtimes, v.now()
	return nil
}

// Get returns the value, read again first if a file changed.
func (v *Value[T]) Get() T {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.now().Sub(v.checked) < Recheck {
		return v.cur
	}
	v.checked = v.now()
	for _, f := range v.files {
		if info, err := os.Stat(f); err == nil && !info.ModTime().Equal(v.mtimes[f]) {
			_ = v.load() // keeps the last good value when it fails
			break
		}
	}
	return v.cur
}

// SetClock replaces the clock that spaces the checks (for tests).
func (v *Value[T]) SetClock(now func() time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.now = now
}
