package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// File names inside a FileSink directory.
const (
	LogFile        = "audit.log"
	CheckpointFile = "checkpoint.json"
	lockName       = "audit.lock"
)

// Default segment limits.
const (
	DefaultSegmentMaxBytes = 1 << 30
	DefaultSegmentMaxAge   = 24 * time.Hour
)

// ErrSinkClosed is returned by a FileSink after Close.
var ErrSinkClosed = errors.New("audit: sink closed")

// errLogInUse means another open sink holds the log.
var errLogInUse = errors.New("the audit log is in use by another process")

// sinkConfig holds the FileSink settings that SinkOptions change.
type sinkConfig struct {
	maxBytes int64
	maxAge   time.Duration
	now      func() time.Time
	onError  func(error)

	archive   Archiver
	retention time.Duration
	hold      func() uint64
}

// SinkOption changes a FileSink setting.
type SinkOption func(*sinkConfig)

// WithSegmentMaxBytes seals the active segment at the first checkpoint
// after it holds n bytes (default 1 GiB).
func WithSegmentMaxBytes(n int64) SinkOption { return func(c *sinkConfig) { c.maxBytes = n } }

// WithSegmentMaxAge seals the active segment at the first checkpoint after
// its first record is d old (default one day).
func WithSegmentMaxAge(d time.Duration) SinkOption { return func(c *sinkConfig) { c.maxAge = d } }

// WithSinkClock sets the clock for segment marks (default time.Now).
func WithSinkClock(now func() time.Time) SinkOption { return func(c *sinkConfig) { c.now = now } }

// WithSinkErrorHandler receives failures of the background work on sealed
// segments (compression, verification).
func WithSinkErrorHandler(fn func(error)) SinkOption { return func(c *sinkConfig) { c.onError = fn } }

// FileSink keeps the log in dir as segments: the active one in
// dir/audit.log, opened for appending and fsynced once per Append, and the
// sealed ones in dir/segments, listed in dir/manifest.json. The latest
// checkpoint is in dir/checkpoint.json, replaced atomically.
//
// A crash during Append can leave a torn final line without its '\n'. That
// line was never acknowledged to anyone, so OpenFileSink truncates it away.
// Complete lines of that batch may survive: they are valid, chained records
// whose callers never got a response.
//
// Seal closes the active segment after a checkpoint; a background
// goroutine then compresses it and verifies it on its own, recording the
// result in the manifest.
type FileSink struct {
	dir  string
	cfg  sinkConfig
	lock *os.File

	mu        sync.Mutex
	f         *os.File // the active segment
	size      int64    // length of its durable, complete lines
	hdr       int64    // length of its header line, 0 when it has none
	first     uint64   // seq of its first record
	prev      string   // hash its first record links to
	firstTime string   // time of its first record, "" while empty or unknown
	last      []byte   // last record line of the log, without '\n'
	broken    bool     // a failed append left bytes past size that are not yet removed
	unrotated bool     // the manifest lists the active segment as sealed; rotate before appending
	man       Manifest

	cpMu sync.Mutex

	workMu sync.Mutex // held by the work on sealed segments
	wake   chan struct{}
	done   chan struct{}

	// indexed holds, by first seq, the segments known to have their
	// index; used under workMu.
	indexed map[uint64]bool
}

// OpenFileSink opens (creating if needed) the log in dir, finishes a seal
// that a crash interrupted and drops a torn final line. The directory stays
// locked against other opens (by any process) until Close.
func OpenFileSink(dir string, opts ...SinkOption) (*FileSink, error) {
	if err := os.MkdirAll(filepath.Join(dir, SegmentDir), 0o700); err != nil {
		return nil, fmt.Errorf("audit: create %s: %w", dir, err)
	}
	cfg := sinkConfig{maxBytes: DefaultSegmentMaxBytes, maxAge: DefaultSegmentMaxAge, now: time.Now, onError: func(error) {}}
	for _, opt := range opts {
		opt(&cfg)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: open log: %w", err)
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		return nil, fmt.Errorf("audit: %s: %w", dir, err)
	}
	s := &FileSink{dir: dir, cfg: cfg, lock: lock, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if err := s.open(); err != nil {
		if s.f != nil {
			s.f.Close()
		}
		lock.Close()
		return nil, fmt.Errorf("audit: open %s: %w", filepath.Join(dir, LogFile), err)
	}
	go s.background()
	s.kick()
	return s, nil
}

// open reads the manifest, finishes an interrupted seal and opens the
// active segment.
func (s *FileSink) open() error {
	var err error
	if s.man, err = readManifest(s.dir); err != nil {
		return err
	}
	if sealed, err := s.activeSealed(); err != nil {
		return err
	} else if sealed {
		if err := s.rotate(); err != nil {
			return err
		}
	} else if s.f, err = os.OpenFile(filepath.Join(s.dir, LogFile), os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600); err != nil {
		return err
	}
	if err := s.recoverTail(); err != nil {
		return err
	}
	if err := s.readStart(); err != nil {
		return err
	}
	return syncDir(s.dir)
}

// lastSealed returns the newest manifest entry, or nil.
func (s *FileSink) lastSealed() *SegmentInfo {
	if n := len(s.man.Segments); n > 0 {
		return &s.man.Segments[n-1]
	}
	return nil
}

// activeSealed reports whether dir/audit.log is missing or is the segment
// the manifest lists last: a seal was cut short after the manifest was
// written.
func (s *FileSink) activeSealed() (bool, error) {
	e := s.lastSealed()
	if e == nil {
		return false, nil
	}
	line, err := firstLine(filepath.Join(s.dir, LogFile))
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	h, ok, err := parseHeader(line)
	if err != nil {
		return false, err
	}
	if ok {
		return h.FirstSeq == e.FirstSeq, nil
	}
	return line != nil && e.FirstSeq == 1, nil
}

// firstLine returns the first complete line of the file at path, or nil.
func firstLine(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var line []byte
	err = scanLines(context.Background(), f, func(l []byte) error {
		line = bytes.Clone(l)
		return io.EOF
	})
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return line, err
}

// readStart sets where the active segment's chain starts from its header
// (or, without one, from the manifest: seq 1 for a log written before
// segments existed), and the time of its first record.
func (s *FileSink) readStart() error {
	s.first, s.prev, s.hdr, s.firstTime = 1, zeroHash, 0, ""
	if e := s.lastSealed(); e != nil {
		cp, err := ParseRecord(e.Checkpoint)
		if err != nil {
			return fmt.Errorf("manifest: %w", err)
		}
		s.first, s.prev = e.LastSeq+1, cp.Hash
	}
	line, err := firstLine(filepath.Join(s.dir, LogFile))
	if err != nil || line == nil {
		return err
	}
	h, ok, err := parseHeader(line)
	switch {
	case err != nil:
		return err
	case !ok:
		s.noteFirst(line)
		return nil
	}
	s.first, s.prev, s.hdr = h.FirstSeq, h.Prev, int64(len(line)+1)
	if bytes.Equal(s.last, line) { // only the header: the last record closed the sealed segment
		s.last = nil
		if e := s.lastSealed(); e != nil {
			s.last = bytes.Clone(e.Checkpoint)
		}
	}
	if s.size > s.hdr {
		next, err := secondLine(s.f, s.hdr)
		if err != nil {
			return err
		}
		s.noteFirst(next)
	}
	return nil
}

// secondLine returns the line starting at off in f.
func secondLine(f *os.File, off int64) ([]byte, error) {
	var line []byte
	err := scanLines(context.Background(), io.NewSectionReader(f, off, 1<<62), func(l []byte) error {
		line = bytes.Clone(l)
		return io.EOF
	})
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return line, err
}

// noteFirst remembers the time of the active segment's first record, when
// line is one.
func (s *FileSink) noteFirst(line []byte) {
	if r, err := ParseRecord(line); err == nil {
		s.firstTime = r.Time
	}
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
	if s.unrotated {
		if err := s.rotate(); err != nil {
			return fmt.Errorf("audit: finish sealing a segment: %w", err)
		}
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
	if len(lines) > 0 && s.size == s.hdr {
		s.noteFirst(lines[0])
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

// SealDue reports whether the active segment has reached its size or age
// limit, so that the next checkpoint should seal it.
func (s *FileSink) SealDue(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil || s.size == s.hdr {
		return false
	}
	if s.cfg.maxBytes > 0 && s.size >= s.cfg.maxBytes {
		return true
	}
	t, err := time.Parse(time.RFC3339Nano, s.firstTime)
	return s.cfg.maxAge > 0 && err == nil && !now.Before(t.Add(s.cfg.maxAge))
}

// Seal closes the active segment, whose last record must be a checkpoint:
// it lists the segment in the manifest, moves it to dir/segments and starts
// a new active segment whose header links to that checkpoint.
func (s *FileSink) Seal(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return ErrSinkClosed
	}
	if s.size == s.hdr || s.unrotated {
		return nil
	}
	cp, err := ParseRecord(s.last)
	if err != nil || cp.Kind != KindCheckpoint {
		return errors.New("audit: seal: the active segment does not end with a checkpoint")
	}
	info := SegmentInfo{
		File: segmentName(s.first), Status: StatusSealed,
		FirstSeq: s.first, LastSeq: cp.Seq, Prev: s.prev,
		FirstTime: s.firstTime, LastTime: cp.Time, Bytes: s.size,
		Checkpoint: bytes.Clone(s.last),
	}
	man := Manifest{Segments: append(slices.Clone(s.man.Segments), info)}
	if err := writeManifest(s.dir, man); err != nil {
		return err
	}
	s.man = man
	if err := s.rotate(); err != nil {
		s.unrotated = true
		return fmt.Errorf("audit: seal: %w", err)
	}
	s.kick()
	return nil
}

// rotate moves the active segment to the file the manifest's last entry
// names and starts a new one after it. Each step can be repeated, so a
// rotation cut short by an error or a crash is finished by calling it again.
func (s *FileSink) rotate() error {
	e := s.lastSealed()
	active, sealed := filepath.Join(s.dir, LogFile), filepath.Join(s.dir, SegmentDir, e.File)
	if _, err := os.Stat(sealed); errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(sealed + zstdExt); errors.Is(err, os.ErrNotExist) {
			if err := os.Rename(active, sealed); err != nil {
				return err
			}
		}
	}
	if err := syncDir(filepath.Join(s.dir, SegmentDir)); err != nil {
		return err
	}
	cp, err := ParseRecord(e.Checkpoint)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if err := writeFileAtomic(s.dir, LogFile, append(encodeHeader(e.LastSeq+1, cp.Hash), '\n')); err != nil {
		return err
	}
	f, err := os.OpenFile(active, os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if s.f != nil {
		s.f.Close()
	}
	s.f, s.unrotated, s.broken = f, false, false
	info, err := f.Stat()
	if err != nil {
		return err
	}
	s.size, s.hdr = info.Size(), info.Size()
	s.first, s.prev, s.firstTime = e.LastSeq+1, cp.Hash, ""
	s.last = bytes.Clone(e.Checkpoint)
	return nil
}

// Manifest returns the sealed segments, oldest first.
func (s *FileSink) Manifest() Manifest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Manifest{Segments: slices.Clone(s.man.Segments)}
}

// Scan calls fn with every record appended before the call, oldest first,
// from the sealed segments and then the active one.
func (s *FileSink) Scan(ctx context.Context, fn func(line []byte) error) error {
	l, err := s.layout()
	if err != nil {
		return err
	}
	return l.scan(ctx, fn)
}

// layout captures the segments and the active segment's durable length.
func (s *FileSink) layout() (*layout, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil, ErrSinkClosed
	}
	f, err := os.Open(filepath.Join(s.dir, LogFile))
	if err != nil {
		return nil, fmt.Errorf("audit: read log: %w", err)
	}
	return &layout{dir: s.dir, man: Manifest{Segments: slices.Clone(s.man.Segments)}, active: f, size: s.size}, nil
}

// Last returns the last record of the log, or nil when it is empty.
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

// Close waits for the background work on sealed segments to reach a
// stopping point and closes the log. Later calls fail with ErrSinkClosed.
func (s *FileSink) Close() error {
	s.mu.Lock()
	if s.f == nil {
		s.mu.Unlock()
		return nil
	}
	err := s.f.Close()
	s.f = nil
	close(s.wake)
	s.mu.Unlock()
	<-s.done
	return errors.Join(err, s.lock.Close())
}

// kick wakes the background goroutine; the caller holds mu or owns s.
func (s *FileSink) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// tidyInterval is how often the background work runs without a seal, so
// that retention applies to segments as they age.
const tidyInterval = time.Minute

// background compresses, verifies and archives sealed segments until Close.
func (s *FileSink) background() {
	defer close(s.done)
	t := time.NewTicker(tidyInterval)
	defer t.Stop()
	for {
		select {
		case _, ok := <-s.wake:
			if !ok {
				return
			}
		case <-t.C:
		}
		s.finishPending()
	}
}

// finishPending compresses, verifies and indexes the sealed segments that
// are not yet, stopping early when Close begins; a later open resumes the
// work.
func (s *FileSink) finishPending() {
	s.workMu.Lock()
	defer s.workMu.Unlock()
	for _, e := range s.Manifest().Segments {
		if s.closing() {
			return
		}
		if err := s.finishSegment(e); err != nil {
			s.cfg.onError(fmt.Errorf("audit: segment %s: %w", e.File, err))
		}
		if err := s.indexSegment(e); err != nil {
			s.cfg.onError(fmt.Errorf("audit: segment %s: %w", e.File, err))
		}
	}
	s.archivePending()
}

// closing reports whether Close has begun.
func (s *FileSink) closing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f == nil
}

// finishSegment compresses and verifies one sealed segment if it has not
// been yet, recording each step in the manifest.
func (s *FileSink) finishSegment(e SegmentInfo) error {
	if e.Status == StatusSealed {
		path := filepath.Join(s.dir, SegmentDir, e.File)
		n, err := compressSegment(path)
		if err != nil {
			return fmt.Errorf("compress: %w", err)
		}
		e.File, e.Status, e.Bytes = e.File+zstdExt, StatusCompressed, n
		if err := s.update(e); err != nil {
			return err
		}
		if err := os.Remove(path); err != nil {
			return err
		}
	}
	if e.Verified != nil || e.Status == StatusArchived {
		return nil
	}
	bad, err := verifyOne(context.Background(), s.dir, e)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	e.Verified = &SegmentCheck{Time: formatTime(s.cfg.now()), OK: bad == nil}
	if !e.Verified.OK {
		e.Verified.Reason = bad.String()
		s.cfg.onError(fmt.Errorf("audit: segment %s failed verification: %s", e.File, e.Verified.Reason))
	}
	return s.update(e)
}

// update replaces the manifest entry of e's segment with e.
func (s *FileSink) update(e SegmentInfo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	man := Manifest{Segments: slices.Clone(s.man.Segments)}
	i := slices.IndexFunc(man.Segments, func(x SegmentInfo) bool { return x.FirstSeq == e.FirstSeq })
	if i < 0 {
		return errors.New("segment left the manifest")
	}
	man.Segments[i] = e
	if err := writeManifest(s.dir, man); err != nil {
		return err
	}
	s.man = man
	return nil
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
