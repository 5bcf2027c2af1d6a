package audit

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/klauspost/compress/zstd"
)

// segmentedLog writes n records through a Logger into a FileSink that seals
// a segment every ~maxBytes, closes both (so that the background work on
// sealed segments is done) and returns the directory.
func segmentedLog(t *testing.T, key *sm2.PrivateKey, n int, maxBytes int64) string {
	t.Helper()
	dir := t.TempDir()
	s, err := OpenFileSink(dir, WithSegmentMaxBytes(maxBytes), WithSinkErrorHandler(func(err error) { t.Error(err) }))
	if err != nil {
		t.Fatal(err)
	}
	l := newLogger(t, s, key, WithCheckpointEvery(0), WithErrorHandler(func(err error) { t.Error(err) }))
	logN(t, l, 1, n)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	s.finishPending()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSegmentsSealCompressAndVerify(t *testing.T) {
	dir := segmentedLog(t, newKey(t), 60, 1000)
	man, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(man.Segments) < 3 {
		t.Fatalf("%d segments sealed, want at least 3", len(man.Segments))
	}
	next, prev := uint64(1), zeroHash
	for _, e := range man.Segments {
		if e.FirstSeq != next || e.Prev != prev {
			t.Fatalf("segment %s starts at %d after %s, want %d after %s", e.File, e.FirstSeq, e.Prev, next, prev)
		}
		if e.Status != StatusCompressed || e.Verified == nil || !e.Verified.OK {
			t.Fatalf("segment %s: status %s, verified %+v", e.File, e.Status, e.Verified)
		}
		if _, err := os.Stat(filepath.Join(dir, SegmentDir, e.File)); err != nil {
			t.Fatal(err)
		}
		cp, err := ParseRecord(e.Checkpoint)
		if err != nil || cp.Kind != KindCheckpoint || cp.Seq != e.LastSeq {
			t.Fatalf("segment %s does not end with its checkpoint: %v", e.File, err)
		}
		next, prev = e.LastSeq+1, cp.Hash
	}
	recs := records(t, DirSource(dir))
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i+1, r.Seq)
		}
	}
	requests := 0
	for _, r := range recs {
		if r.Kind == KindRequest {
			requests++
		}
	}
	if requests != 60 {
		t.Fatalf("%d request records across the segments, want 60", requests)
	}
	rep := mustVerify(t, DirSource(dir), VerifyOptions{})
	if rep.Records != uint64(len(recs)) || rep.FirstSeq != 0 {
		t.Fatalf("verified %d records from %d, want %d from the first", rep.Records, rep.FirstSeq, len(recs))
	}

	// From a trusted checkpoint: only what follows it is read.
	from := man.Segments[1].Checkpoint
	rep = mustVerify(t, DirSource(dir), VerifyOptions{From: from})
	if want := uint64(len(recs)) - man.Segments[1].LastSeq; rep.Records != want || rep.FirstSeq != man.Segments[1].LastSeq+1 {
		t.Fatalf("from checkpoint %d: %d records from %d, want %d", man.Segments[1].LastSeq, rep.Records, rep.FirstSeq, want)
	}
}

func TestSegmentsResumeAfterReopen(t *testing.T) {
	key := newKey(t)
	dir := segmentedLog(t, key, 30, 3000)
	s, err := OpenFileSink(dir, WithSegmentMaxBytes(1000))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := newLogger(t, s, key, WithCheckpointEvery(0))
	logN(t, l, 31, 30)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, s, VerifyOptions{})
	if rep.Records < 60 || rep.AfterCheckpoint != 0 {
		t.Fatalf("after reopening: %+v", rep)
	}
}

func TestSegmentsSealByAge(t *testing.T) {
	clock := newFakeClock()
	dir := t.TempDir()
	s, err := OpenFileSink(dir, WithSegmentMaxAge(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := newLogger(t, s, newKey(t), WithClock(clock.Now), WithCheckpointEvery(0), WithCheckpointInterval(0))
	logN(t, l, 1, 2)
	if n := len(s.Manifest().Segments); n != 0 {
		t.Fatalf("%d segments sealed before the age limit", n)
	}
	clock.Advance(time.Hour)
	logN(t, l, 3, 1)
	man := s.Manifest()
	if len(man.Segments) != 1 || man.Segments[0].LastSeq != 4 {
		t.Fatalf("after an hour: %+v, want one segment of 3 records and a checkpoint", man.Segments)
	}
	mustVerify(t, s, VerifyOptions{})
}

// TestSegmentsTamperingFails changes a sealed, compressed segment, and the
// manifest, in ways the chain must catch.
func TestSegmentsTamperingFails(t *testing.T) {
	tests := map[string]func(t *testing.T, dir string, man *Manifest) (seq uint64){
		"record changed inside a compressed segment": func(t *testing.T, dir string, man *Manifest) uint64 {
			e := man.Segments[1]
			lines := splitLines(readSegment(t, dir, e))
			i := 1 // the segment's header is line 0
			lines[i] = rewrite(t, lines[i], func(r *Record) { r.Operation = "key.delete" })
			writeSegment(t, dir, e, joinLines(lines))
			return e.FirstSeq + 1
		},
		"segment dropped from the manifest": func(t *testing.T, dir string, man *Manifest) uint64 {
			seq := man.Segments[1].FirstSeq
			man.Segments = append(man.Segments[:1], man.Segments[2:]...)
			return seq
		},
		"segment file replaced by another": func(t *testing.T, dir string, man *Manifest) uint64 {
			writeSegment(t, dir, man.Segments[1], readSegment(t, dir, man.Segments[2]))
			return man.Segments[1].FirstSeq
		},
	}
	for name, tamper := range tests {
		t.Run(name, func(t *testing.T) {
			dir := segmentedLog(t, newKey(t), 60, 1000)
			man, err := ReadManifest(dir)
			if err != nil {
				t.Fatal(err)
			}
			seq := tamper(t, dir, &man)
			if err := writeManifest(dir, man); err != nil {
				t.Fatal(err)
			}
			rep, err := VerifyDir(context.Background(), dir, VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.FirstBad.Seq != seq {
				t.Fatalf("verify = ok %v, first bad %v; want record %d", rep.OK, rep.FirstBad, seq)
			}
		})
	}
}

// TestSegmentsLegacyLogUpgrades opens a log written before segments (one
// audit.log, no manifest) and seals it as the first segment.
func TestSegmentsLegacyLogUpgrades(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t)
	s := mustOpen(t, dir) // unlimited: the whole log stays in audit.log, without a header
	l := newLogger(t, s, key)
	logN(t, l, 1, 5)
	l.Close()
	s.Close()
	os.Remove(filepath.Join(dir, ManifestFile))
	os.RemoveAll(filepath.Join(dir, SegmentDir))
	old := mustVerify(t, DirSource(dir), VerifyOptions{})

	s, err := OpenFileSink(dir, WithSegmentMaxBytes(1))
	if err != nil {
		t.Fatal(err)
	}
	l = newLogger(t, s, key)
	logN(t, l, 6, 1)
	l.Close()
	s.Close()
	man, _ := ReadManifest(dir)
	if len(man.Segments) == 0 || man.Segments[0].FirstSeq != 1 || man.Segments[0].LastSeq <= old.Records {
		t.Fatalf("the old log was not sealed as the first segment: %+v", man.Segments)
	}
	rep := mustVerify(t, DirSource(dir), VerifyOptions{})
	if rep.Records <= old.Records {
		t.Fatalf("verified %d records, had %d before the upgrade", rep.Records, old.Records)
	}
}

// TestSegmentsFinishInterruptedSeal reopens a directory whose seal was cut
// short after the segment moved but before the new audit.log existed.
func TestSegmentsFinishInterruptedSeal(t *testing.T) {
	key := newKey(t)
	dir := segmentedLog(t, key, 5, 1) // every record seals a segment: audit.log holds only a header
	if err := os.Remove(filepath.Join(dir, LogFile)); err != nil {
		t.Fatal(err)
	}
	s, err := OpenFileSink(dir, WithSegmentMaxBytes(1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := newLogger(t, s, key, WithCheckpointEvery(0))
	logN(t, l, 21, 3)
	mustVerify(t, s, VerifyOptions{})
}

func readSegment(t *testing.T, dir string, e SegmentInfo) []byte {
	t.Helper()
	rc, err := openSegment(dir, e)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeSegment(t *testing.T, dir string, e SegmentInfo, content []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := zstd.NewWriter(&buf)
	zw.Write(content)
	zw.Close()
	if err := os.WriteFile(filepath.Join(dir, SegmentDir, e.File), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
