package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// File names inside a FileSink directory.
const (
	LogFile        = "audit.log"
	CheckpointFile = "checkpoint.json"
)

// ErrSinkClosed is returned by a FileSink after Close.
var ErrSinkClosed = errors.New("audit: sink closed")

// errLogInUse means another open sink holds the log.
var errLogInUse = errors.New("the audit log is in use by another process")

// FileSink keeps the log in dir/audit.log, opened for appending and fsynced
// once per Append, and the latest checkpoint in dir/checkpoint.json,
// replaced atomically.
//
// A crash during Append can leave a torn final line without its '\n'. That
// line was never acknowledged to anyone, so OpenFileSink truncates it away.
// Complete lines of that batch may survive: they are valid, chained records
// whose callers never got a response. Only one process may write a
// directory at a time; FileSink does not lock it.
type FileSink struct {
	dir string

	mu     sync.Mutex
	f      *os.File
	size   int64  // length of the durable, complete lines
	last   []byte // last line, without '\n'
	broken bool   // a failed append left bytes past size that are not yet removed

	cpMu sync.Mutex
}

// OpenFileSink opens (creating if needed) the log in dir and drops a torn
// final line left by a crash. The log stays locked against other opens
// (by any process) until Close.
func OpenFileSink(dir string) (*FileSink, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: create %s: %w", dir, err)
	}
	path := filepath.Join(dir, LogFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: open log: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: %s: %w", path, err)
	}
	s := &FileSink{dir: dir, f: f}
	if err := s.recoverTail(); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: open log: %w", err)
	}
	return s, nil
}

// recoverTail sets size and last from the file, truncating a torn line.
func (s *FileSink) recoverTail() error {
	info, err := s.f.Stat()
	if err != nil {
		return err
	}
	end, err := lastNewline(s.f, info.Size())
	if err != nil {
		return err
	}
	s.size = end + 1
	if s.size != info.Size() {
		if err := s.f.Truncate(s.size); err != nil {
			return fmt.Errorf("truncate torn line: %w", err)
		}
		if err := s.f.Sync(); err != nil {
			return err
		}
	}
	if end < 0 {
		return nil
	}
	start, err := lastNewline(s.f, end)
	if err != nil {
		return err
	}
	s.last = make([]byte, end-start-1)
	_, err = s.f.ReadAt(s.last, start+1)
	return err
}

// Append writes lines with one write and one fsync. If either fails, it
// truncates the file back to its previous length before returning.
func (s *FileSink) Append(ctx context.Context, lines [][]byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, line := range lines {
		if bytes.IndexByte(line, '\n') >= 0 {
			return errors.New("audit: line contains a newline")
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return ErrSinkClosed
	}
	if s.broken {
		if err := s.rollback(); err != nil {
			return fmt.Errorf("audit: recover log after failed append: %w", err)
		}
	}
	n, err := s.f.Write(buf.Bytes())
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		if rerr := s.rollback(); rerr != nil {
			s.broken = true
		}
		return fmt.Errorf("audit: append to log: %w", err)
	}
	s.size += int64(n)
	if len(lines) > 0 {
		s.last = bytes.Clone(lines[len(lines)-1])
	}
	return nil
}

// rollback cuts the file back to its last durable length.
func (s *FileSink) rollback() error {
	if err := s.f.Truncate(s.size); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return err
	}
	s.broken = false
	return nil
}

// Scan calls fn with every line appended before the call, oldest first.
func (s *FileSink) Scan(ctx context.Context, fn func(line []byte) error) error {
	s.mu.Lock()
	closed, size := s.f == nil, s.size
	s.mu.Unlock()
	if closed {
		return ErrSinkClosed
	}
	return scanFile(ctx, filepath.Join(s.dir, LogFile), size, fn)
}

// Last returns the last line of the log, or nil when it is empty.
func (s *FileSink) Last(context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil, ErrSinkClosed
	}
	return bytes.Clone(s.last), nil
}

// SaveCheckpoint atomically replaces dir/checkpoint.json with line.
func (s *FileSink) SaveCheckpoint(ctx context.Context, line []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.cpMu.Lock()
	defer s.cpMu.Unlock()
	return writeFileAtomic(s.dir, CheckpointFile, append(bytes.Clone(line), '\n'))
}

// LoadCheckpoint returns the content of dir/checkpoint.json, or nil.
func (s *FileSink) LoadCheckpoint(context.Context) ([]byte, error) {
	s.cpMu.Lock()
	defer s.cpMu.Unlock()
	return readCheckpoint(s.dir)
}

// Close closes the log file. Later calls fail with ErrSinkClosed.
func (s *FileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// scanFile scans the first limit bytes of the file at path (all of it when
// limit < 0).
func scanFile(ctx context.Context, path string, limit int64, fn func(line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("audit: read log: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if limit >= 0 {
		r = io.LimitReader(f, limit)
	}
	return scanLines(ctx, r, fn)
}

// readCheckpoint returns dir/checkpoint.json without its final '\n', or nil
// when it does not exist.
func readCheckpoint(dir string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, CheckpointFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: read checkpoint: %w", err)
	}
	return bytes.TrimSuffix(b, []byte("\n")), nil
}
