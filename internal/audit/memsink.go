package audit

import (
	"bytes"
	"context"
	"sync"
)

// MemorySink is a Sink in memory, for the dev server and tests. It loses
// everything when the process exits.
type MemorySink struct {
	mu         sync.Mutex
	lines      [][]byte
	checkpoint []byte
}

// NewMemorySink returns an empty MemorySink.
func NewMemorySink() *MemorySink { return &MemorySink{} }

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
	return nil
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
