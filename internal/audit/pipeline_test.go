package audit

import (
	"context"
	"errors"
	"runtime"
	"testing"
)

// gatedSink holds its first Append until the test releases it with a
// result.
type gatedSink struct {
	*MemorySink
	calls   chan [][]byte
	release chan error
	gated   bool
}

func newGatedSink() *gatedSink {
	return &gatedSink{MemorySink: NewMemorySink(0), calls: make(chan [][]byte), release: make(chan error)}
}

func (s *gatedSink) Append(ctx context.Context, lines [][]byte) error {
	if s.gated { // only the flushes touch gated, one at a time
		return s.MemorySink.Append(ctx, lines)
	}
	s.gated = true
	s.calls <- lines
	if err := <-s.release; err != nil {
		return err
	}
	return s.MemorySink.Append(ctx, lines)
}

// logAsync logs e and returns the channel its result arrives on.
func logAsync(l *Logger, e Entry) <-chan error {
	done := make(chan error, 1)
	go func() { done <- l.Log(context.Background(), e) }()
	return done
}

// logQueued submits e and returns once the writer goroutine has taken it
// off the queue: it is chained before the writer learns anything else, such
// as the outcome of the batch in flight.
func logQueued(t *testing.T, l *Logger, e Entry) <-chan error {
	t.Helper()
	j := &job{rec: l.newRecord(e), done: make(chan error, 1)}
	if err := l.submit(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	for len(l.jobs) > 0 {
		runtime.Gosched()
	}
	return j.done
}

// TestNextBatchFormsWhileOneIsInFlight holds the first batch's Append and
// checks that a record logged meanwhile is chained into a second batch
// before the first returns; both are then written, in order.
func TestNextBatchFormsWhileOneIsInFlight(t *testing.T) {
	sink := newGatedSink()
	l := newLogger(t, sink, newKey(t), WithCheckpointEvery(0), WithCheckpointInterval(0))
	first := logAsync(l, entry(0))
	<-sink.calls                        // the first batch is in flight
	second := logQueued(t, l, entry(1)) // the second forms on top of it
	sink.release <- nil
	if err := errors.Join(<-first, <-second); err != nil {
		t.Fatal(err)
	}
	recs := records(t, sink)
	if len(recs) != 2 || recs[0].RequestID != "req-0000" || recs[1].Seq != 2 || recs[1].Prev != recs[0].Hash {
		t.Fatalf("log = %s", export(t, sink))
	}
	mustVerify(t, sink, VerifyOptions{})
}

// TestFailedWriteFailsTheBatchChainedOnIt fails the first of two batches in
// flight: the second, chained on records that never reached the log, must
// fail too and never be written (it would leave a gap), and the next
// record continues the chain from what is durable.
func TestFailedWriteFailsTheBatchChainedOnIt(t *testing.T) {
	sink := newGatedSink()
	l := newLogger(t, sink, newKey(t), WithCheckpointEvery(0), WithCheckpointInterval(0))
	first := logAsync(l, entry(0))
	<-sink.calls
	second := logQueued(t, l, entry(1))
	sink.release <- errInjected
	if err := <-first; !errors.Is(err, errInjected) {
		t.Fatalf("first batch: %v", err)
	}
	if err := <-second; !errors.Is(err, errInjected) {
		t.Fatalf("batch chained on a failed write: %v, want it to fail", err)
	}
	if got := export(t, sink); len(got) != 0 {
		t.Fatalf("log after the failed write = %q, want empty", got)
	}
	logN(t, l, 2, 1)
	recs := records(t, sink)
	if len(recs) != 1 || recs[0].Seq != 1 || recs[0].RequestID != "req-0002" {
		t.Fatalf("log = %s", export(t, sink))
	}
	mustVerify(t, sink, VerifyOptions{})
}
