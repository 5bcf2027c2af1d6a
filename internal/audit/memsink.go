package audit

import (
	"bytes"
	"context"
	"sync"
)

// MemorySink is a Sink in memory, for the development server and tests. It
// loses everything when the process exits. With a limit it keeps only the
// newest records, so that a long-running development server does not grow
// without bound; Window then tells Verify where the kept records start.
type MemorySink struct {
	mu         sync.Mutex
	limit      int
	lines      [][]byte
	checkpoint []byte
}

// NewMemorySink returns an empty MemorySink that keeps at most limit
// records (all of them when limit is 0).
func NewMemorySink(limit int) *MemorySink { return &MemorySink{limit: limit} }

// Append adds copies of lines to the log.
func (m *MemorySink) Append(ctx context.Context, lines [][]byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, line := range lines {
		m.lines = append(m.lines, bytes.Clone(line))
	}
	if m.limit > 0 && len(m.lines) > 2*m.limit {
		// Drop the oldest in bulk so that appends stay amortised O(1).
		m.lines = append([][]byte(nil), m.lines[len(m.lines)-m.limit:]...)
	}
	return nil
}

// Window reports the seq and prev hash of the oldest record kept when
// older ones were dropped, and seq 0 when the log is whole.
func (m *MemorySink) Window(context.Context) (uint64, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.lines) == 0 {
		return 0, "", nil
	}
	r, err := ParseRecord(m.lines[0])
	if err != nil || r.Seq == 1 {
		return 0, "", err
	}
	return r.Seq, r.Prev, nil
}

// Scan calls fn with every line, oldest first.
func (m *MemorySink) Scan(ctx context.Context, fn func(line []byte) error) error {
	m.mu.Lock()
	lines := m.lines[:len(m.lines):len(m.lines)]
	m.mu.Unlock()
	for _, line := range lines {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	return nil
}

// Last returns the last line, or nil when the log is empty.
func (m *MemorySink) Last(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.lines) == 0 {
		return nil, nil
	}
	return bytes.Clone(m.lines[len(m.lines)-1]), nil
}

// SaveCheckpoint keeps a copy of line as the latest checkpoint.
func (m *MemorySink) SaveCheckpoint(_ context.Context, line []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.checkpoint = bytes.Clone(line)
	return nil
}

// LoadCheckpoint returns the latest checkpoint, or nil.
func (m *MemorySink) LoadCheckpoint(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.checkpoint), nil
}
