package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

// specCompact builds a compact line straight from the package doc,
// without the package's own encoder.
func specCompact(r *Record) []byte {
	str := func(b []byte, s string) []byte { return append(binary.AppendUvarint(b, uint64(len(s))), s...) }
	raw := func(b []byte, h string) []byte { d, _ := hex.DecodeString(h); return append(b, d...) }
	t, _ := time.Parse(time.RFC3339Nano, r.Time)
	b := []byte{0x02}
	b = raw(binary.AppendUvarint(b, r.Seq), r.Prev)
	b = binary.AppendUvarint(binary.AppendVarint(b, t.Unix()), uint64(t.Nanosecond()))
	for _, s := range []string{r.RequestID, r.Tenant, r.Accessor, r.Operation, r.Object} {
		b = str(b, s)
	}
	b = str(str(binary.AppendVarint(b, int64(r.Status)), r.Code), r.Remote)
	b = binary.AppendUvarint(binary.AppendUvarint(b, r.Count), uint64(len(r.HMAC)))
	for _, name := range []string{"alpha", "mid", "zeta"} { // the test's names, sorted
		b = str(b, name)
		if v := r.HMAC[name]; v == Redacted {
			b = append(b, 0x00)
		} else {
			b = raw(append(b, 0x01), v)
		}
	}
	sum := sm3.Sum(b)
	b = append(b, sum[:]...)
	b = bytes.ReplaceAll(b, []byte{0x1b}, []byte{0x1b, 'e'})
	return bytes.ReplaceAll(b, []byte{'\n'}, []byte{0x1b, 'n'})
}

// TestCompactMatchesDocumentedForm checks a compact line byte for byte
// against the package doc, with escapes, a negative status and every kind
// of HMAC value, and that its JSON form gives the same hash.
func TestCompactMatchesDocumentedForm(t *testing.T) {
	for _, key := range []bool{true, false} {
		sink := NewMemorySink(0)
		l := newLogger(t, sink, nil, WithCheckpointEvery(0))
		if key {
			if err := l.SetKeys([]byte("0123456789abcdef0123456789abcdef"), newKey(t)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 12 { // seq 10 is the byte '\n'
			e := entry(i)
			e.Status, e.Code, e.Count = -1, "internal", 1<<40
			e.Object = "keys/\n\x1b\x1bn"
			e.Time = time.Date(1, 1, 1, 0, 0, 0, 999, time.UTC)
			e.Sensitive = map[string][]byte{"zeta": []byte("z"), "alpha": []byte("a"), "mid": nil}
			if err := l.Log(context.Background(), e); err != nil {
				t.Fatal(err)
			}
		}
		lines := compactLines(t, sink)
		for _, line := range lines {
			r, err := ParseRecord(line)
			if err != nil {
				t.Fatal(err)
			}
			if want := specCompact(r); !bytes.Equal(line, want) {
				t.Fatalf("record %d:\n got %q\nwant %q", r.Seq, line, want)
			}
			if r.Form != FormCompact || len(r.HMAC) != 3 || (r.HMAC["mid"] == Redacted) == key {
				t.Fatalf("record %d: %+v", r.Seq, r)
			}
			j, err := JSONLine(line)
			if err != nil {
				t.Fatal(err)
			}
			if again, err := ParseRecord(j); err != nil || recordHash(again) != r.Hash {
				t.Fatalf("the JSON form %s does not give the hash: %v", j, err)
			}
		}
	}
}

// TestCompactTampering changes stored compact lines and checks that
// verification names the changed record and why.
func TestCompactTampering(t *testing.T) {
	sink := NewMemorySink(0)
	logN(t, newLogger(t, sink, nil), 1, 6)
	good := compactLines(t, sink)
	type tamper struct {
		edit   func(l [][]byte)
		reason string
		at     uint64 // the record that fails, 3 when 0
	}
	tests := map[string]tamper{
		"byte of the tenant changed": {func(l [][]byte) { l[2][bytes.Index(l[2], []byte("acme"))] ^= 1 }, ReasonHash, 0},
		"hash changed":               {func(l [][]byte) { flipHashBit(l[2]) }, ReasonHash, 0},
		"rewritten with a new hash": {func(l [][]byte) {
			r, _ := ParseRecord(l[2])
			r.Operation = "key.delete"
			l[2] = linkCompact(r)
		}, ReasonLink, 4},
		"seq changed": {func(l [][]byte) {
			r, _ := ParseRecord(l[2])
			r.Seq = 9
			l[2] = linkCompact(r)
		}, ReasonSequence, 0},
		"unknown escape": {func(l [][]byte) { l[2] = append(l[2][:40:40], 0x1b, 'x') }, ReasonUnparseable, 0},
		"trailing garbage": {func(l [][]byte) {
			var buf []byte
			body, hash, err := splitCompact(l[2], &buf)
			if err != nil {
				t.Fatal(err)
			}
			l[2] = escapeLine(append(append(slices.Clone(body), 0), hash...))
		}, ReasonMalformed, 0},
		"non-minimal seq": {func(l [][]byte) {
			l[2] = append([]byte{0x02, 0x83, 0x00}, l[2][2:]...)
		}, ReasonMalformed, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			lines := make([][]byte, len(good))
			for i := range good {
				lines[i] = bytes.Clone(good[i])
			}
			tc.edit(lines)
			rep, err := VerifyReader(context.Background(), bytes.NewReader(joinLines(lines)), VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			at := max(tc.at, 3)
			if rep.OK || rep.FirstBad.Seq != at || rep.FirstBad.Reason != tc.reason || rep.Records != at-1 {
				t.Fatalf("report %+v %v, want record %d: %s", rep, rep.FirstBad, at, tc.reason)
			}
		})
	}
}

// TestOldAndCompactSegmentsVerifyTogether opens a log of JSON records,
// written before the compact form, with a Logger that writes compact ones:
// the whole log, across the old and new segments, verifies and is
// searched.
func TestOldAndCompactSegmentsVerifyTogether(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	for _, opts := range [][]Option{{withJSONRecords()}, nil} {
		s, err := OpenFileSink(dir, WithSegmentMaxBytes(1000))
		if err != nil {
			t.Fatal(err)
		}
		l := newLogger(t, s, key, append(opts, WithCheckpointEvery(4))...)
		logN(t, l, 1, 20)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		s.finishPending()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	forms := map[bool]int{}
	if err := DirSource(dir).Scan(context.Background(), func(line []byte) error {
		forms[isCompact(line)]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if forms[true] != 20 || forms[false] < 20 {
		t.Fatalf("lines by form (compact?): %v", forms)
	}
	man, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range man.Segments {
		if e.Verified == nil || !e.Verified.OK {
			t.Fatalf("segment %s: %+v", e.File, e.Verified)
		}
	}
	rep := mustVerify(t, DirSource(dir), VerifyOptions{PublicKey: &key.PublicKey})
	if rep.Records != uint64(forms[true]+forms[false]) {
		t.Fatalf("verified %d records", rep.Records)
	}
	page, err := Search(context.Background(), DirSource(dir), Query{Object: "keys/k7", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 2 || page.Records[0].Form != 0 || page.Records[1].Form != FormCompact {
		t.Fatalf("search found %d records", len(page.Records))
	}
}

// flipHashBit changes one bit of the hash at the end of a compact line,
// in a byte that is not part of an escape and does not become one, so the
// line still parses (the last byte alone is an escape's second byte when
// the hash ends in '\n' or 0x1b, 2 times in 256).
func flipHashBit(line []byte) {
	for i := len(line) - 1; i > 0; i-- {
		if line[i] != 0x1b && line[i-1] != 0x1b && line[i]^1 != '\n' && line[i]^1 != 0x1b {
			line[i] ^= 1
			return
		}
	}
}
