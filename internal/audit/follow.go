package audit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// errEnough ends a scan once a read has the lines it asked for.
var errEnough = errors.New("audit: enough lines")

// follower reads the records of a FileSink in order from a given seq on,
// across segments, keeping its place between reads: it reads each
// segment once however often it is called. It sees only durable records.
type follower struct {
	s    *FileSink
	next uint64 // seq of the next record to return
	// onGap, when set, hears of records from..to skipped because
	// retention removed them (they are only in the archive).
	onGap func(from, to uint64)

	seg  uint64 // first seq of the open segment, 0 when none is open
	line uint64 // seq of the next line the open segment gives
	end  uint64 // last seq of the open segment once sealed, else 0
	rc   io.ReadCloser
	br   *bufio.Reader // over rc, for a sealed segment
	f    *os.File      // the active segment when it was opened
	off  int64         // bytes of f read
}

// follow returns a follower of s starting at record seq.
func (s *FileSink) follow(seq uint64) *follower { return &follower{s: s, next: max(seq, 1)} }

// read returns up to n records (copies) from the follower's place on,
// fewer when the log holds no more yet.
func (fl *follower) read(ctx context.Context, n int) ([][]byte, error) {
	var out [][]byte
	for len(out) < n {
		if fl.seg == 0 {
			if err := fl.open(); err != nil {
				return out, err
			}
		}
		got, err := fl.readOpen(ctx, n-len(out))
		out = append(out, got...)
		if err != nil {
			return out, err
		}
		if fl.end == 0 || fl.next <= fl.end {
			if len(got) == 0 {
				break // the active segment has no more yet
			}
			continue
		}
		fl.close() // this segment is done; the next one follows
	}
	return out, nil
}

// open opens the segment that holds record next.
func (fl *follower) open() error {
	s := fl.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return ErrSinkClosed
	}
	from := fl.next
	for _, e := range s.man.Segments {
		if e.Status == StatusArchived && fl.next <= e.LastSeq {
			fl.next = e.LastSeq + 1
		}
	}
	if fl.next != from && fl.onGap != nil {
		fl.onGap(from, fl.next-1)
	}
	if fl.next >= s.first {
		f, err := os.Open(filepath.Join(s.dir, LogFile))
		if err != nil {
			return fmt.Errorf("audit: read log: %w", err)
		}
		fl.f, fl.rc, fl.seg, fl.line, fl.end, fl.off = f, f, s.first, s.first, 0, s.hdr
		return nil
	}
	for _, e := range s.man.Segments {
		if fl.next > e.LastSeq {
			continue
		}
		if fl.next < e.FirstSeq {
			return fmt.Errorf("audit: record %d is not in the manifest", fl.next)
		}
		rc, err := openSegment(s.dir, e)
		if err != nil {
			return err
		}
		fl.rc, fl.br, fl.seg, fl.line, fl.end = rc, bufio.NewReaderSize(rc, 64<<10), e.FirstSeq, e.FirstSeq, e.LastSeq
		if head, _ := fl.br.Peek(len(`{"segment":`)); bytes.Equal(head, []byte(`{"segment":`)) {
			if _, err := fl.br.ReadSlice('\n'); err != nil {
				return fmt.Errorf("audit: segment %s: header: %w", e.File, err)
			}
		}
		return nil
	}
	return fmt.Errorf("audit: record %d is not in the manifest", fl.next)
}

// readOpen reads up to n records from the open segment.
func (fl *follower) readOpen(ctx context.Context, n int) ([][]byte, error) {
	var out [][]byte
	take := func(line []byte) error {
		if seq := fl.line; seq >= fl.next {
			out = append(out, bytes.Clone(line))
			fl.next = seq + 1
		}
		fl.line++
		if len(out) == n {
			return errEnough
		}
		return nil
	}
	var err error
	if fl.f == nil {
		err = scanLines(ctx, fl.br, take)
		if err == nil && fl.next <= fl.end {
			err = fmt.Errorf("audit: segment from %d ends at record %d, the manifest says %d", fl.seg, fl.line-1, fl.end)
		}
	} else {
		err = fl.readActive(ctx, take)
	}
	if errors.Is(err, errEnough) {
		err = nil
	}
	return out, err
}

// readActive reads the durable lines of the active segment that follow
// off; once the segment is sealed, all of it.
func (fl *follower) readActive(ctx context.Context, take func([]byte) error) error {
	s := fl.s
	s.mu.Lock()
	size := s.size
	if s.first != fl.seg { // sealed since: the file is complete
		if e := s.sealedAt(fl.seg); e != nil {
			fl.end = e.LastSeq
		}
		size = 1 << 62
	}
	s.mu.Unlock()
	return scanLines(ctx, io.NewSectionReader(fl.f, fl.off, size-fl.off), func(line []byte) error {
		fl.off += int64(len(line)) + 1
		return take(line)
	})
}

// sealedAt returns the manifest entry of the segment starting at seq, or
// nil; the caller holds mu.
func (s *FileSink) sealedAt(seq uint64) *SegmentInfo {
	for i := range s.man.Segments {
		if s.man.Segments[i].FirstSeq == seq {
			return &s.man.Segments[i]
		}
	}
	return nil
}

// close closes the open segment; the next read opens the one holding next.
func (fl *follower) close() {
	if fl.rc != nil {
		fl.rc.Close()
	}
	fl.seg, fl.rc, fl.br, fl.f = 0, nil, nil, nil
}
