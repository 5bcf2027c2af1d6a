package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// fuzzSeeds returns a valid log and some damaged variants of it.
func fuzzSeeds(t testing.TB) [][]byte {
	tl := newTestLog(t, newKey(t))
	log := joinLines(tl.lines)
	compact := NewMemorySink(0)
	logN(t, newLogger(t, compact, nil), 1, 3)
	return [][]byte{
		export(t, compact),
		joinLines(compactLines(t, compact)),
		log,
		joinLines(tl.lines[:5]),
		bytes.Replace(log, []byte(`"acme"`), []byte(`"acmf"`), 1),
		log[:len(log)/2],
		[]byte("{}\n"),
		[]byte("\n\n"),
		{},
	}
}

func FuzzVerifyReader(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := VerifyReader(context.Background(), bytes.NewReader(data), VerifyOptions{})
		if err != nil {
			t.Fatalf("reading from memory failed: %v", err)
		}
		if rep.OK != (rep.FirstBad == nil) {
			t.Fatalf("OK = %v with first bad %v", rep.OK, rep.FirstBad)
		}
		if rep.OK && rep.Records != uint64(bytes.Count(data, []byte("\n"))) {
			t.Fatalf("OK report counts %d records in %d lines", rep.Records, bytes.Count(data, []byte("\n")))
		}
		if !rep.OK && rep.FirstBad.Line != rep.Records+1 {
			t.Fatalf("first bad line %d after %d good records", rep.FirstBad.Line, rep.Records)
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		for _, line := range splitLines(seed) {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := ParseRecord(line)
		if err != nil {
			return
		}
		again, err := json.Marshal(r)
		if isCompact(line) {
			again = escapeLine(appendHex(appendCompactBody(nil, r), r.Hash))
		}
		if err != nil || !bytes.Equal(again, line) {
			t.Fatalf("accepted %q, which re-encodes as %q", line, again)
		}
		if err := r.validate(); err != nil {
			t.Fatalf("accepted an invalid record: %v", err)
		}
	})
}
