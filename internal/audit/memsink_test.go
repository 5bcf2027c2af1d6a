package audit

import (
	"context"
	"testing"
)

// TestBoundedMemorySinkVerifiesItsWindow keeps only the newest records and
// still proves the chain from the oldest one kept; a change inside the
// window is still found.
func TestBoundedMemorySinkVerifiesItsWindow(t *testing.T) {
	ctx := context.Background()
	sink := NewMemorySink(10)
	l, err := New(sink, WithCheckpointEvery(7))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 50 {
		if err := l.Log(ctx, Entry{Operation: "encrypt", Object: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	seq, _, err := sink.Window(ctx)
	if err != nil || seq <= 1 {
		t.Fatalf("window starts at %d, %v", seq, err)
	}
	rep, err := Verify(ctx, sink, VerifyOptions{})
	if err != nil || !rep.OK || rep.FirstSeq != seq || rep.Records == 0 {
		t.Fatalf("window verify: %+v, %v", rep, err)
	}
	sink.mu.Lock()
	sink.lines[len(sink.lines)/2][20] ^= 1
	sink.mu.Unlock()
	if rep, _ := Verify(ctx, sink, VerifyOptions{}); rep.OK {
		t.Fatal("tampered record inside the window went unnoticed")
	}
}
