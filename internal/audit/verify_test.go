package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

// testLog is a closed log of ten requests with checkpoints every four:
// seq 5, 10 and the closing one, 13. Record 2 has characters that JSON
// escapes.
type testLog struct {
	key   *sm2.PrivateKey
	lines [][]byte
}

func newTestLog(t testing.TB, key *sm2.PrivateKey) testLog {
	t.Helper()
	sink := NewMemorySink(0)
	l := newLogger(t, sink, key, WithCheckpointEvery(4), withJSONRecords())
	for i := 1; i <= 10; i++ {
		e := entry(i)
		if i == 2 {
			e.Object = "keys/<a&b>"
		}
		if err := l.Log(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	lines := splitLines(export(t, sink))
	if got := kinds(records(t, sink)); got != "rrrrcrrrrcrrc" {
		t.Fatalf("test log kinds = %s", got)
	}
	return testLog{key: key, lines: lines}
}

// edit returns a copy of the lines changed by fn.
func (tl testLog) edit(fn func([][]byte) [][]byte) []byte {
	lines := make([][]byte, len(tl.lines))
	for i, l := range tl.lines {
		lines[i] = bytes.Clone(l)
	}
	return joinLines(fn(lines))
}

func TestVerifyDetectsTampering(t *testing.T) {
	key := newKey(t)
	tl := newTestLog(t, key)
	other := newTestLog(t, key) // same key, different records
	otherKey := newKey(t)
	final := tl.lines[12]

	tests := []struct {
		name    string
		edit    func(t *testing.T, lines [][]byte) [][]byte
		ext     []byte // external checkpoint
		wantSeq uint64 // 0: the log verifies
		reason  string // prefix of the expected reason
	}{
		{name: "unmodified", edit: keep, ext: final},
		{name: "one byte in a value", edit: func(_ *testing.T, l [][]byte) [][]byte {
			l[2] = bytes.Replace(l[2], []byte(`"acme"`), []byte(`"acmf"`), 1)
			return l
		}, wantSeq: 3, reason: ReasonHash},
		{name: "one structural byte", edit: func(_ *testing.T, l [][]byte) [][]byte {
			l[2][0] = '['
			return l
		}, wantSeq: 3, reason: ReasonUnparseable},
		{name: "equivalent escape", edit: func(_ *testing.T, l [][]byte) [][]byte {
			l[1] = bytes.Replace(l[1], []byte(`\u003c`), []byte(`\u003C`), 1)
			return l
		}, wantSeq: 2, reason: ReasonNonCanonical},
		{name: "rehashed record breaks the next link", edit: func(t *testing.T, l [][]byte) [][]byte {
			l[2] = rewrite(t, l[2], func(r *Record) { r.Status = 500 })
			return l
		}, wantSeq: 4, reason: ReasonLink},
		{name: "record deleted", edit: func(_ *testing.T, l [][]byte) [][]byte {
			return append(l[:3], l[4:]...)
		}, wantSeq: 4, reason: ReasonSequence},
		{name: "first record deleted", edit: func(_ *testing.T, l [][]byte) [][]byte {
			return l[1:]
		}, wantSeq: 1, reason: ReasonSequence},
		{name: "records swapped", edit: func(_ *testing.T, l [][]byte) [][]byte {
			l[5], l[6] = l[6], l[5]
			return l
		}, wantSeq: 6, reason: ReasonSequence},
		{name: "records swapped and renumbered", edit: func(t *testing.T, l [][]byte) [][]byte {
			l[5], l[6] = rewrite(t, l[6], func(r *Record) { r.Seq = 6 }), rewrite(t, l[5], func(r *Record) { r.Seq = 7 })
			return l
		}, wantSeq: 6, reason: ReasonLink},
		{name: "record duplicated", edit: func(_ *testing.T, l [][]byte) [][]byte {
			return append(l[:4], l[3:]...)
		}, wantSeq: 5, reason: ReasonSequence},
		{name: "blank line inserted", edit: func(_ *testing.T, l [][]byte) [][]byte {
			return append(l[:2], append([][]byte{{}}, l[2:]...)...)
		}, wantSeq: 3, reason: ReasonUnparseable},
		{name: "checkpoint signature replaced", edit: func(t *testing.T, l [][]byte) [][]byte {
			l[4] = rewrite(t, l[4], func(r *Record) {
				r.Signature = "MEQCIHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4AiB4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eA=="
			})
			return l
		}, wantSeq: 5, reason: ReasonSignature},
		{name: "checkpoint head moved", edit: func(t *testing.T, l [][]byte) [][]byte {
			l[4] = rewrite(t, l[4], func(r *Record) { r.Head = zeroHash })
			return l
		}, wantSeq: 5, reason: ReasonCheckpoint},
		{name: "checkpoint re-signed with another key", edit: func(t *testing.T, l [][]byte) [][]byte {
			l[9] = rewrite(t, l[9], func(r *Record) { resign(t, r, otherKey) })
			return l
		}, wantSeq: 10, reason: ReasonUnexpectedKey},
		{name: "tail cut before the checkpoint's records", edit: func(_ *testing.T, l [][]byte) [][]byte {
			return l[:11]
		}, ext: final, wantSeq: 12, reason: ReasonTruncated + ": checkpoint (record 13) covers 12 records, log has 11"},
		{name: "tail cut just before the checkpoint", edit: func(_ *testing.T, l [][]byte) [][]byte {
			return l[:12]
		}, ext: final, wantSeq: 13, reason: ReasonTruncated},
		{name: "tail after the known checkpoint is not protected", edit: func(_ *testing.T, l [][]byte) [][]byte {
			return l[:12]
		}, ext: tl.lines[9]},
		{name: "log differs from the external checkpoint", edit: keep, ext: other.lines[4], wantSeq: 5, reason: ReasonExternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := tl.edit(func(l [][]byte) [][]byte { return tc.edit(t, l) })
			rep, err := VerifyReader(context.Background(), bytes.NewReader(log), VerifyOptions{Checkpoint: tc.ext})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantSeq == 0 {
				if !rep.OK || rep.FirstBad != nil {
					t.Fatalf("want OK, got %v", rep.FirstBad)
				}
				return
			}
			p := rep.FirstBad
			if rep.OK || p == nil || p.Seq != tc.wantSeq || p.Line != tc.wantSeq || !strings.HasPrefix(p.Reason, tc.reason) {
				t.Fatalf("first bad = %v, want record %d: %s", p, tc.wantSeq, tc.reason)
			}
			if rep.Records != tc.wantSeq-1 {
				t.Fatalf("report counts %d good records, want %d", rep.Records, tc.wantSeq-1)
			}
		})
	}
}

func keep(_ *testing.T, l [][]byte) [][]byte { return l }

// resign replaces cp's signature and key with ones made by key.
func resign(t *testing.T, cp *Record, key *sm2.PrivateKey) {
	t.Helper()
	pub, pubB64, err := encodePublicKey(key)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := signCheckpoint(rand.Reader, key, pub, pubB64, cp.Head, cp.Count, cp.Time)
	if err != nil {
		t.Fatal(err)
	}
	cp.Signature, cp.PublicKey = forged.Signature, forged.PublicKey
}

func TestVerifyPinnedKey(t *testing.T) {
	key := newKey(t)
	log := joinLines(newTestLog(t, key).lines)
	rep, err := VerifyReader(context.Background(), bytes.NewReader(log), VerifyOptions{PublicKey: &key.PublicKey})
	if err != nil || !rep.OK || rep.Checkpoints != 3 {
		t.Fatalf("with the right key: %+v, %v", rep, err)
	}
	rep, err = VerifyReader(context.Background(), bytes.NewReader(log), VerifyOptions{PublicKey: &newKey(t).PublicKey})
	if err != nil || rep.OK || rep.FirstBad.Seq != 5 || rep.FirstBad.Reason != ReasonUnexpectedKey {
		t.Fatalf("with another key: %+v, %v", rep.FirstBad, err)
	}
}

func TestVerifyRejectsBadExternalCheckpoint(t *testing.T) {
	key := newKey(t)
	tl := newTestLog(t, key)
	log := joinLines(tl.lines)
	tests := map[string][]byte{
		"request record":   tl.lines[0],
		"wrong hash":       bytes.Replace(tl.lines[4], []byte(`"count":4`), []byte(`"count":3`), 1),
		"forged":           rewrite(t, tl.lines[4], func(r *Record) { resign(t, r, newKey(t)); r.PublicKey = tl.mustRecord(t, 4).PublicKey }),
		"unparseable":      []byte("{"),
		"other key pinned": tl.lines[4],
	}
	for name, ext := range tests {
		t.Run(name, func(t *testing.T) {
			opts := VerifyOptions{Checkpoint: ext}
			if name == "other key pinned" {
				opts.PublicKey = &newKey(t).PublicKey
			}
			if _, err := VerifyReader(context.Background(), bytes.NewReader(log), opts); err == nil {
				t.Fatal("bad external checkpoint accepted")
			}
		})
	}
}

func (tl testLog) mustRecord(t testing.TB, i int) *Record {
	t.Helper()
	r, err := ParseRecord(tl.lines[i])
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestVerifyDirDetectsTruncation(t *testing.T) {
	dir := t.TempDir()
	sink, err := OpenFileSink(dir)
	if err != nil {
		t.Fatal(err)
	}
	l := newLogger(t, sink, newKey(t), WithCheckpointEvery(4))
	logN(t, l, 0, 10)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	sink.Close()
	rep, err := VerifyDir(context.Background(), dir, VerifyOptions{})
	if err != nil || !rep.OK || rep.Records != 13 {
		t.Fatalf("intact: %+v, %v", rep, err)
	}
	path := filepath.Join(dir, LogFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, joinLines(splitLines(raw)[:7]), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err = VerifyDir(context.Background(), dir, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := Problem{Seq: 8, Line: 8, Reason: "log truncated: checkpoint (record 13) covers 12 records, log has 7"}
	if rep.OK || rep.FirstBad == nil || *rep.FirstBad != want {
		t.Fatalf("first bad = %v, want %v", rep.FirstBad, &want)
	}
	if _, err := New(mustOpen(t, dir)); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("New over a truncated log = %v", err)
	}
}

func mustOpen(t *testing.T, dir string) *FileSink {
	t.Helper()
	s, err := OpenFileSink(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestVerifyLongLine(t *testing.T) {
	log := append(joinLines(newTestLog(t, newKey(t)).lines[:2]), bytes.Repeat([]byte("x"), MaxLineSize+1)...)
	log = append(log, '\n')
	rep, err := VerifyReader(context.Background(), bytes.NewReader(log), VerifyOptions{})
	if err != nil || rep.FirstBad == nil || rep.FirstBad.Seq != 3 || rep.FirstBad.Reason != ReasonTooLong {
		t.Fatalf("report %+v, %v", rep.FirstBad, err)
	}
}

func TestVerifyEmptyAndTornTail(t *testing.T) {
	rep, err := VerifyReader(context.Background(), strings.NewReader(""), VerifyOptions{})
	if err != nil || !rep.OK || rep.Records != 0 {
		t.Fatalf("empty log: %+v, %v", rep, err)
	}
	tl := newTestLog(t, newKey(t))
	log := append(joinLines(tl.lines), tl.lines[0][:20]...)
	rep, err = VerifyReader(context.Background(), bytes.NewReader(log), VerifyOptions{})
	if err != nil || !rep.OK || rep.Records != 13 {
		t.Fatalf("torn tail: %+v, %v", rep, err)
	}
}
