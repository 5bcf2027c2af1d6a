package audit

import "testing"

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
