package audit

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestFileSinkAppendScanLast(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	ctx := context.Background()
	if last, err := s.Last(ctx); err != nil || last != nil {
		t.Fatalf("empty sink: Last = %q, %v", last, err)
	}
	batches := [][][]byte{{[]byte("a"), []byte("bb")}, {}, {[]byte("ccc")}}
	for _, b := range batches {
		if err := s.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append(ctx, [][]byte{[]byte("x\ny")}); err == nil {
		t.Fatal("Append accepted a line with a newline")
	}
	want := "a\nbb\nccc\n"
	if got := export(t, s); string(got) != want {
		t.Fatalf("Scan = %q, want %q", got, want)
	}
	if raw, _ := os.ReadFile(filepath.Join(dir, LogFile)); string(raw) != want {
		t.Fatalf("file = %q", raw)
	}
	if last, _ := s.Last(ctx); string(last) != "ccc" {
		t.Fatalf("Last = %q", last)
	}
	s.Close()
	if err := s.Append(ctx, [][]byte{[]byte("d")}); !errors.Is(err, ErrSinkClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
	if last, _ := mustOpen(t, dir).Last(ctx); string(last) != "ccc" {
		t.Fatalf("Last after reopen = %q", last)
	}
}

func TestFileSinkDropsTornLine(t *testing.T) {
	tests := map[string]string{
		"after complete lines": "a\nbb\n{\"seq\":3,\"ti",
		"only a torn line":     "{\"seq\":1",
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, LogFile)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			s := mustOpen(t, dir)
			complete := content[:bytes.LastIndexByte([]byte(content), '\n')+1]
			if raw, _ := os.ReadFile(path); string(raw) != complete {
				t.Fatalf("after open the file holds %q, want %q", raw, complete)
			}
			if err := s.Append(context.Background(), [][]byte{[]byte("z")}); err != nil {
				t.Fatal(err)
			}
			if raw, _ := os.ReadFile(path); string(raw) != complete+"z\n" {
				t.Fatalf("after append the file holds %q", raw)
			}
		})
	}
}

func TestFileSinkRecoversAfterFailedAppend(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	ctx := context.Background()
	if err := s.Append(ctx, [][]byte{[]byte("a")}); err != nil {
		t.Fatal(err)
	}
	// Simulate a write that failed half way and could not be undone at once.
	if _, err := s.f.Write([]byte("partial-b")); err != nil {
		t.Fatal(err)
	}
	s.broken = true
	if err := s.Append(ctx, [][]byte{[]byte("c")}); err != nil {
		t.Fatal(err)
	}
	if raw, _ := os.ReadFile(filepath.Join(dir, LogFile)); string(raw) != "a\nc\n" {
		t.Fatalf("file = %q", raw)
	}
}

func TestFileSinkCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	ctx := context.Background()
	if cp, err := s.LoadCheckpoint(ctx); err != nil || cp != nil {
		t.Fatalf("no checkpoint yet: %q, %v", cp, err)
	}
	for _, line := range []string{`{"first":1}`, `{"second":2}`} {
		if err := s.SaveCheckpoint(ctx, []byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	for _, src := range []Source{s, DirSource(dir)} {
		if cp, err := src.LoadCheckpoint(ctx); err != nil || string(cp) != `{"second":2}` {
			t.Fatalf("LoadCheckpoint = %q, %v", cp, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{lockName, LogFile, CheckpointFile, SegmentDir}; !slices.Equal(names, want) {
		t.Fatalf("directory holds %v, want only %v (no temporary file)", names, want)
	}
}

func TestResumeAfterReopen(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t)
	session := func(keyed bool, from, n int) {
		s, err := OpenFileSink(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		k := key
		if !keyed {
			k = nil
		}
		l := newLogger(t, s, k, WithCheckpointEvery(4))
		logN(t, l, from, n)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	session(false, 0, 3) // sealed: no checkpoints
	session(true, 3, 6)  // the 3 earlier records count towards the first checkpoint
	session(true, 9, 2)
	s := mustOpen(t, dir)
	recs := records(t, s)
	if got, want := kinds(recs), "rrr"+"rcrrrrcrc"+"rrc"; got != want {
		t.Fatalf("kinds = %s, want %s", got, want)
	}
	if recs[3].Seq != 4 || recs[3].Prev != recs[2].Hash || recs[3].RequestID != "req-0003" {
		t.Fatalf("first record of the second session = %+v", recs[3])
	}
	if rep := mustVerify(t, s, VerifyOptions{PublicKey: &key.PublicKey}); rep.Records != 15 || rep.Checkpoints != 4 {
		t.Fatalf("report = %+v", rep)
	}
}

func TestExportDir(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	l := newLogger(t, s, newKey(t))
	logN(t, l, 0, 5)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, LogFile))
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, line := range splitLines(raw) {
		j, err := JSONLine(line)
		if err != nil {
			t.Fatal(err)
		}
		want = append(append(want, j...), '\n')
	}
	if got := export(t, DirSource(dir)); !bytes.Equal(got, want) || len(splitLines(got)) != 6 {
		t.Fatalf("export = %q, want %q", got, want)
	}
	if rep, err := VerifyReader(context.Background(), bytes.NewReader(want), VerifyOptions{}); err != nil || !rep.OK || rep.Records != 6 {
		t.Fatalf("the export does not verify: %+v %v", rep, err)
	}
}

// TestFileSinkIsExclusive refuses a second open of a log until the first
// is closed.
func TestFileSinkIsExclusive(t *testing.T) {
	dir := t.TempDir()
	first, err := OpenFileSink(dir)
	if err != nil {
		t.Fatal(err)
	}
	if second, err := OpenFileSink(dir); err == nil {
		second.Close()
		t.Fatal("a second sink opened a log in use")
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := OpenFileSink(dir)
	if err != nil {
		t.Fatalf("reopening after Close: %v", err)
	}
	again.Close()
}
