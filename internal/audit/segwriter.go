package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// WriteSegment stores a sealed segment kept elsewhere (a PostgreSQL node's
// chain) in dir, laid out as a FileSink directory: segments/<first seq>.log
// with its header, compressed and verified on its own as a FileSink does,
// then listed in the manifest. e is the segment's manifest entry (File,
// Status, Bytes and Verified are set here); scan calls fn with its record
// lines in order. Writing a segment the manifest already lists is a no-op,
// so an export cut short can be repeated; any other segment must follow
// the manifest's last one.
func WriteSegment(ctx context.Context, dir string, e SegmentInfo, scan func(fn func(line []byte) error) error) error {
	if err := os.MkdirAll(filepath.Join(dir, SegmentDir), 0o700); err != nil {
		return fmt.Errorf("audit: create %s: %w", dir, err)
	}
	man, err := readManifest(dir)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(man.Segments, func(x SegmentInfo) bool { return x.FirstSeq == e.FirstSeq }) {
		return nil
	}
	if n := len(man.Segments); n > 0 && (e.FirstSeq != man.Segments[n-1].LastSeq+1 || e.Prev != checkpointHash(man.Segments[n-1])) {
		return fmt.Errorf("audit: segment %d does not follow the last one in %s", e.FirstSeq, dir)
	}
	path := filepath.Join(dir, SegmentDir, segmentName(e.FirstSeq))
	if err := writeSegmentFile(path, e, scan); err != nil {
		return fmt.Errorf("audit: write segment %d: %w", e.FirstSeq, err)
	}
	n, err := compressSegment(path)
	if err != nil {
		return fmt.Errorf("audit: compress segment %d: %w", e.FirstSeq, err)
	}
	if err := os.Remove(path); err != nil {
		return err
	}
	e.File, e.Status, e.Bytes = segmentName(e.FirstSeq)+zstdExt, StatusCompressed, n
	v := startVerifier(e.FirstSeq-1, e.Prev)
	if err := verifySegment(ctx, dir, e, v); err != nil && !errors.Is(err, errStop) {
		return fmt.Errorf("audit: verify segment %d: %w", e.FirstSeq, err)
	}
	if v.rep.FirstBad != nil {
		return fmt.Errorf("audit: segment %d fails verification: %s", e.FirstSeq, v.rep.FirstBad)
	}
	e.Verified = &SegmentCheck{Time: formatTime(time.Now()), OK: true}
	man.Segments = append(man.Segments, e)
	return writeManifest(dir, man)
}

// writeSegmentFile writes and fsyncs a segment: its header (none for the
// first segment of a log, as in a FileSink) and its lines.
func writeSegmentFile(path string, e SegmentInfo, scan func(fn func(line []byte) error) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	if e.FirstSeq > 1 {
		w.Write(encodeHeader(e.FirstSeq, e.Prev))
		w.WriteByte('\n')
	}
	err = scan(func(line []byte) error {
		w.Write(line)
		return w.WriteByte('\n')
	})
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	return err
}
