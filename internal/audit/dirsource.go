package audit

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// dirSource reads a FileSink directory without opening it for writing.
type dirSource string

// DirSource returns a read-only Source over a FileSink directory, for
// offline verification and export. It never modifies the directory, so it
// is safe to use while a server is writing there; a torn final line is
// skipped.
func DirSource(dir string) Source { return dirSource(dir) }

// Scan calls fn with every complete record of the sealed segments and then
// dir/audit.log.
func (d dirSource) Scan(ctx context.Context, fn func(line []byte) error) error {
	l, err := d.layout()
	if err != nil {
		return err
	}
	return l.scan(ctx, fn)
}

// layout reads the manifest and opens the active segment, again if a seal
// happened between the two.
func (d dirSource) layout() (*layout, error) {
	dir := string(d)
	for {
		man, err := readManifest(dir)
		if err != nil {
			return nil, err
		}
		f, err := os.Open(filepath.Join(dir, LogFile))
		if err != nil {
			return nil, fmt.Errorf("audit: read log: %w", err)
		}
		again, err := readManifest(dir)
		if err != nil {
			f.Close()
			return nil, err
		}
		if len(again.Segments) == len(man.Segments) {
			return &layout{dir: dir, man: man, active: f, size: -1}, nil
		}
		f.Close()
	}
}

// LoadCheckpoint returns the content of dir/checkpoint.json, or nil.
func (d dirSource) LoadCheckpoint(context.Context) ([]byte, error) {
	return readCheckpoint(string(d))
}

// layout is a consistent view of a segmented log: the sealed segments and
// the open active segment, of which size bytes are complete (all when < 0).
// An archive has no active segment (active nil).
type layout struct {
	dir    string
	man    Manifest
	active *os.File
	size   int64
}

// close closes the active segment.
func (l *layout) close() {
	if l.active != nil {
		l.active.Close()
	}
}

// scan calls fn with every record present, oldest first, and closes the
// view. Segments that retention removed are skipped.
func (l *layout) scan(ctx context.Context, fn func(line []byte) error) error {
	defer l.close()
	for _, e := range online(l.man.Segments) {
		if err := l.scanSealed(ctx, e, fn); err != nil {
			return err
		}
	}
	return scanSegment(ctx, l.activeReader(), segmentHeader{}, fn)
}

// scanSealed scans one sealed segment.
func (l *layout) scanSealed(ctx context.Context, e SegmentInfo, fn func(line []byte) error) error {
	rc, err := openSegment(l.dir, e)
	if err != nil {
		return err
	}
	defer rc.Close()
	return scanSegment(ctx, rc, segmentHeader{}, fn)
}

// activeReader reads the complete lines of the active segment.
func (l *layout) activeReader() io.Reader {
	if l.active == nil {
		return strings.NewReader("")
	}
	if l.size < 0 {
		return io.NewSectionReader(l.active, 0, 1<<62)
	}
	return io.NewSectionReader(l.active, 0, l.size)
}

// segmentedSource is a Source stored as segments.
type segmentedSource interface {
	layout() (*layout, error)
}

var (
	_ segmentedSource = dirSource("")
	_ segmentedSource = (*FileSink)(nil)
)
