package audit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestClearKeysSignsCheckpoint seals with records written since the last
// checkpoint: the seal must anchor them with a checkpoint before the
// signing key goes, so that dropping them afterwards is detected.
func TestClearKeysSignsCheckpoint(t *testing.T) {
	sink := NewMemorySink(0)
	l := newLogger(t, sink, newKey(t), WithCheckpointEvery(0), WithCheckpointInterval(0))
	logN(t, l, 0, 3)
	l.ClearKeys()
	if got := kinds(records(t, sink)); got != "rrrc" {
		t.Fatalf("kinds after seal = %s, want rrrc", got)
	}
	l.ClearKeys() // nothing new: no second checkpoint
	logN(t, l, 3, 1)
	if err := l.Close(); err != nil {
		t.Fatalf("Close while sealed = %v", err)
	}
	if got := kinds(records(t, sink)); got != "rrrcr" {
		t.Fatalf("kinds = %s, want rrrcr", got)
	}
	rep := mustVerify(t, sink, VerifyOptions{})
	if rep.LastCheckpointSeq != 4 {
		t.Fatalf("last checkpoint = %d, want 4", rep.LastCheckpointSeq)
	}
}

// tamperLog is a generated log with the checkpoints its witness kept.
type tamperLog struct {
	lines   [][]byte
	witness [][]byte // checkpoint records the witness holds
}

// generateTamperLog writes n request records, a checkpoint after every
// fourth, through a Logger with a file witness. With shutdown the Logger
// is closed (signing a final checkpoint); otherwise the log is taken as a
// crash would leave it, with a tail after the last checkpoint.
func generateTamperLog(t *testing.T, n int, shutdown bool) tamperLog {
	t.Helper()
	path := filepath.Join(t.TempDir(), "witness.jsonl")
	w, err := NewFileWitness(path)
	if err != nil {
		t.Fatal(err)
	}
	sink := NewMemorySink(0)
	l := newLogger(t, sink, newKey(t), WithCheckpointEvery(4), WithCheckpointInterval(0),
		WithClock(newFakeClock().Now), WithWitnesses("", w))
	logN(t, l, 0, n)
	if shutdown {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kept, err := ReadWitness(f)
	if err != nil {
		t.Fatal(err)
	}
	return tamperLog{lines: splitLines(export(t, sink)), witness: kept[""]}
}

// rechain renumbers and re-links lines from index from on, recomputing
// every hash as an attacker who knows the format would. It cannot re-sign
// checkpoints.
func rechain(t *testing.T, lines [][]byte, from int) []byte {
	t.Helper()
	out := make([][]byte, len(lines))
	copy(out, lines)
	prev := zeroHash
	for i := range out {
		if i >= from {
			out[i] = rewrite(t, out[i], func(r *Record) { r.Seq, r.Prev = uint64(i+1), prev })
		}
		r, err := ParseRecord(out[i])
		if err != nil {
			t.Fatal(err)
		}
		prev = r.Hash
	}
	if len(out) == 0 {
		return nil
	}
	return joinLines(out)
}

// mutation is one tampering of a log at a position (0-based line index).
type mutation struct {
	kind string
	pos  int
	log  []byte
}

// mutations returns every re-chained single-record edit, deletion and
// adjacent swap, and every truncation, of lines.
func mutations(t *testing.T, lines [][]byte) []mutation {
	t.Helper()
	var out []mutation
	for i := range lines {
		edited := slices.Clone(lines)
		edited[i] = rewrite(t, lines[i], func(r *Record) {
			if r.Kind == KindCheckpoint {
				r.Time = formatTime(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
			} else {
				r.Object = "keys/forged"
			}
		})
		out = append(out,
			mutation{"edit", i, rechain(t, edited, i)},
			mutation{"delete", i, rechain(t, slices.Delete(slices.Clone(lines), i, i+1), i)},
			mutation{"truncate", i, truncated(lines, i)})
		if i+1 < len(lines) {
			swapped := slices.Clone(lines)
			swapped[i], swapped[i+1] = swapped[i+1], swapped[i]
			out = append(out, mutation{"swap", i, rechain(t, swapped, i)})
		}
	}
	return out
}

// truncated returns the log of the first n lines.
func truncated(lines [][]byte, n int) []byte {
	if n == 0 {
		return nil
	}
	return joinLines(lines[:n])
}

// caught reports whether verification rejects log.
func caught(t *testing.T, log []byte, opts VerifyOptions) bool {
	t.Helper()
	rep, err := VerifyReader(context.Background(), bytes.NewReader(log), opts)
	if err != nil {
		t.Fatal(err)
	}
	return !rep.OK
}

// TestTamperMutations tries every single-record edit, deletion, adjacent
// swap and truncation at every position of a generated log, verifying
// with and without the witness. With the witness every mutation at or
// before the last witnessed checkpoint is caught; when the log ends with
// the checkpoint signed at shutdown, every mutation is.
func TestTamperMutations(t *testing.T) {
	for _, tc := range []struct {
		name     string
		shutdown bool
	}{{"crash", false}, {"shutdown", true}} {
		t.Run(tc.name, func(t *testing.T) {
			g := generateTamperLog(t, 18, tc.shutdown)
			last, err := ParseRecord(g.witness[len(g.witness)-1])
			if err != nil {
				t.Fatal(err)
			}
			witnessed := int(last.Seq) // lines at index < witnessed are covered by the witness
			if tc.shutdown && witnessed != len(g.lines) {
				t.Fatalf("last witnessed checkpoint is record %d, log has %d", witnessed, len(g.lines))
			}
			type tally struct{ total, logOnly, withWitness int }
			counts := map[string]*tally{}
			var all tally
			for _, m := range mutations(t, g.lines) {
				c := counts[m.kind]
				if c == nil {
					c = &tally{}
					counts[m.kind] = c
				}
				logOnly := caught(t, m.log, VerifyOptions{})
				withWitness := caught(t, m.log, VerifyOptions{Witnessed: g.witness})
				for _, x := range []*tally{c, &all} {
					x.total++
					x.logOnly += b2i(logOnly)
					x.withWitness += b2i(withWitness)
				}
				if !withWitness && m.pos < witnessed {
					t.Errorf("%s at line %d (before the witnessed checkpoint %d) not caught with the witness", m.kind, m.pos+1, witnessed)
				}
				if logOnly && !withWitness {
					t.Errorf("%s at line %d caught without the witness but not with it", m.kind, m.pos+1)
				}
			}
			for _, kind := range []string{"edit", "delete", "swap", "truncate"} {
				c := counts[kind]
				t.Logf("%s: %-8s caught %2d/%2d without witness, %2d/%2d with witness", tc.name, kind, c.logOnly, c.total, c.withWitness, c.total)
			}
			t.Logf("%s: all      caught %2d/%2d without witness, %2d/%2d with witness (log of %d records, last witnessed checkpoint %d)",
				tc.name, all.logOnly, all.total, all.withWitness, all.total, len(g.lines), witnessed)
			if tc.shutdown && all.withWitness != all.total {
				t.Errorf("with the shutdown checkpoint witnessed %d of %d mutations are caught, want all", all.withWitness, all.total)
			}
			if all.logOnly >= all.total {
				t.Errorf("without the witness every mutation is caught: the truncations should not be")
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
