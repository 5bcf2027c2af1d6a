package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/clocktest"
)

// archivedLog writes n records through a Logger into a FileSink that seals
// a segment every ~3000 bytes and archives with a, and returns the sink
// (closed when the test ends) after the background work has run.
func archivedLog(t *testing.T, clock *clocktest.Clock, n int, opts ...SinkOption) *FileSink {
	t.Helper()
	opts = append([]SinkOption{WithSegmentMaxBytes(1000), WithSinkClock(clock.Now)}, opts...)
	s, err := OpenFileSink(t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	l := newLogger(t, s, newKey(t), WithClock(clock.Now), WithCheckpointEvery(0), WithCheckpointInterval(0))
	logN(t, l, 1, n)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	s.finishPending()
	if len(s.Manifest().Segments) < 3 {
		t.Fatalf("%d segments sealed, want at least 3", len(s.Manifest().Segments))
	}
	return s
}

// segmentFiles lists the segment files under dir/segments, not their
// search indexes.
func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, SegmentDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if filepath.Ext(e.Name()) != ".idx" {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestArchiveThenRetention(t *testing.T) {
	clock := newFakeClock()
	arch := t.TempDir()
	a, err := NewDirArchiver(arch)
	if err != nil {
		t.Fatal(err)
	}
	s := archivedLog(t, clock, 60, WithArchive(a), WithRetention(time.Hour, nil))
	segs := s.Manifest().Segments
	for _, e := range segs {
		if e.Archived == "" || e.Status != StatusCompressed {
			t.Fatalf("segment %s: status %s, archived %q; want archived and still online", e.File, e.Status, e.Archived)
		}
	}
	last := segs[len(segs)-1].LastSeq
	rep, err := VerifyArchive(context.Background(), arch, VerifyOptions{})
	if err != nil || !rep.OK || rep.Records != last {
		t.Fatalf("archive: %+v, %v; want %d records intact", rep, err, last)
	}
	if got := segmentFiles(t, s.dir); len(got) != len(segs) {
		t.Fatalf("before the retention age %d files online, want %d", len(got), len(segs))
	}

	clock.Advance(2 * time.Hour)
	s.finishPending()
	for _, e := range s.Manifest().Segments {
		if e.Status != StatusArchived {
			t.Fatalf("segment %s older than the retention: status %s", e.File, e.Status)
		}
	}
	if got, err := os.ReadDir(filepath.Join(s.dir, SegmentDir)); err != nil || len(got) != 0 {
		t.Fatalf("files (segments or their indexes) left online after retention: %v %v", got, err)
	}
	rep = mustVerify(t, s, VerifyOptions{})
	if rep.FirstSeq != last+1 {
		t.Fatalf("online verification starts at %d, want %d (after the archived segments)", rep.FirstSeq, last+1)
	}
	if recs := records(t, s); len(recs) > 0 && recs[0].Seq != last+1 {
		t.Fatalf("scan after retention starts at record %d, want %d", recs[0].Seq, last+1)
	}
	if rep, err := VerifyArchive(context.Background(), arch, VerifyOptions{}); err != nil || !rep.OK || rep.Records != last {
		t.Fatalf("archive after retention: %+v, %v", rep, err)
	}
}

// badArchiver stores a damaged copy of every segment.
type badArchiver struct{ *DirArchiver }

func (b badArchiver) Put(ctx context.Context, name, path string) error {
	if err := b.DirArchiver.Put(ctx, name, path); err != nil || !strings.HasPrefix(name, SegmentDir) {
		return err
	}
	return os.Truncate(filepath.Join(b.dir, name), 40)
}

func TestRetentionKeepsWhatIsNotArchived(t *testing.T) {
	for name, tc := range map[string]struct {
		archiver func(t *testing.T) Archiver
		hold     func() uint64
		archived bool
	}{
		"archive copy damaged": {archiver: func(t *testing.T) Archiver {
			a, err := NewDirArchiver(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return badArchiver{a}
		}},
		"archive command fails": {archiver: func(*testing.T) Archiver { return NewCommandArchiver("exit 3") }},
		"not yet exported": {archiver: func(t *testing.T) Archiver {
			a, err := NewDirArchiver(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return a
		}, hold: func() uint64 { return 0 }, archived: true},
	} {
		t.Run(name, func(t *testing.T) {
			clock := newFakeClock()
			var failures atomic.Int32
			s := archivedLog(t, clock, 40, WithArchive(tc.archiver(t)), WithRetention(time.Hour, tc.hold),
				WithSinkErrorHandler(func(error) { failures.Add(1) }))
			clock.Advance(2 * time.Hour)
			s.finishPending()
			segs := s.Manifest().Segments
			for _, e := range segs {
				if e.Status != StatusCompressed || (e.Archived != "") != tc.archived {
					t.Fatalf("segment %s: status %s, archived %q", e.File, e.Status, e.Archived)
				}
			}
			if got := segmentFiles(t, s.dir); len(got) != len(segs) {
				t.Fatalf("%d of %d segment files left online", len(got), len(segs))
			}
			if !tc.archived && failures.Load() == 0 {
				t.Fatal("the failed archiving was not reported")
			}
			mustVerify(t, s, VerifyOptions{})
		})
	}
}

func TestArchiveCommand(t *testing.T) {
	arch := t.TempDir()
	s := archivedLog(t, newFakeClock(), 40, WithArchive(NewCommandArchiver("mkdir -p "+arch+"/segments && cp %p "+arch+"/%f")))
	for _, e := range s.Manifest().Segments {
		if e.Archived == "" {
			t.Fatalf("segment %s not archived", e.File)
		}
	}
	rep, err := VerifyArchive(context.Background(), arch, VerifyOptions{})
	if err != nil || !rep.OK || rep.Records == 0 {
		t.Fatalf("archive written by the command: %+v, %v", rep, err)
	}
}

func TestVerifyArchiveFindsDamage(t *testing.T) {
	arch := t.TempDir()
	a, err := NewDirArchiver(arch)
	if err != nil {
		t.Fatal(err)
	}
	s := archivedLog(t, newFakeClock(), 40, WithArchive(a))
	e := s.Manifest().Segments[1]
	if err := copyFileAtomic(filepath.Join(arch, SegmentDir, e.File), filepath.Join(s.dir, SegmentDir, s.Manifest().Segments[0].File)); err != nil {
		t.Fatal(err)
	}
	rep, err := VerifyArchive(context.Background(), arch, VerifyOptions{})
	if err != nil || rep.OK || rep.FirstBad == nil || rep.FirstBad.Seq > e.FirstSeq {
		t.Fatalf("archive with segment %s replaced by another: %+v, %v", e.File, rep, err)
	}
	if _, err := VerifyArchive(context.Background(), t.TempDir(), VerifyOptions{}); err == nil {
		t.Fatal("an empty directory verified as an archive")
	}
	// The archive starts wherever its first segment does.
	man, err := ReadManifest(arch)
	if err != nil {
		t.Fatal(err)
	}
	man.Segments = man.Segments[2:]
	if err := writeManifest(arch, man); err != nil {
		t.Fatal(err)
	}
	rep, err = VerifyArchive(context.Background(), arch, VerifyOptions{})
	if err != nil || !rep.OK || rep.FirstSeq != man.Segments[0].FirstSeq {
		t.Fatalf("archive from segment 3: %+v, %v", rep, err)
	}
}

func TestExportStartsAfterRemovedSegments(t *testing.T) {
	clock := newFakeClock()
	a, err := NewDirArchiver(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := archivedLog(t, clock, 40, WithArchive(a), WithRetention(time.Hour, nil))
	clock.Advance(2 * time.Hour)
	s.finishPending()
	segs := s.Manifest().Segments
	last := segs[len(segs)-1].LastSeq
	l := newLogger(t, s, newKey(t), WithClock(clock.Now), WithCheckpointEvery(0))
	logN(t, l, 41, 3)

	// Export turned on later: it starts at the first record still online
	// and says which ones it could not send.
	cur, err := OpenCursor(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var gaps []error
	var got [][]byte
	x := NewExporter(s, cur, destFunc(func(lines [][]byte) { got = append(got, lines...) }), func(err error) { gaps = append(gaps, err) })
	if n := drain(t, x); n < 3 || len(gaps) != 1 || !strings.Contains(gaps[0].Error(), fmt.Sprintf("records 1 to %d", last)) {
		t.Fatalf("export after retention: %d records, gaps %v", n, gaps)
	}
	if r, err := ParseRecord(got[0]); err != nil || r.Seq != last+1 {
		t.Fatalf("first record exported: %v, %v; want %d", r, err, last+1)
	}
}

// destFunc is a Destination that hands every batch to fn.
type destFunc func(lines [][]byte)

func (d destFunc) Send(_ context.Context, lines [][]byte) error {
	d(lines)
	return nil
}
