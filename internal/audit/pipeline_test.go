package audit

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
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

// pipeSink is a Pipeliner over a MemorySink: its first sends are held
// until the test releases them, and all are applied in the order sent; a
// batch sent after one that failed fails too, until the Logger re-reads
// the chain (Last).
type pipeSink struct {
	*MemorySink
	hold   int // sends still to hold; later ones proceed at once
	sent   chan *heldSend
	mu     sync.Mutex
	failed bool
	prev   chan struct{} // closed when the previous send is applied
}

// heldSend is one Send waiting for the test's release.
type heldSend struct {
	release chan error
	err     error
	done    chan struct{}
}

func newPipeSink(hold int) *pipeSink {
	prev := make(chan struct{})
	close(prev)
	return &pipeSink{MemorySink: NewMemorySink(0), hold: hold, sent: make(chan *heldSend, 16), prev: prev}
}

func (s *pipeSink) Send(lines [][]byte) func(context.Context) error {
	h := &heldSend{release: make(chan error, 1), done: make(chan struct{})}
	prev := s.prev
	s.prev = h.done
	go func() {
		defer close(h.done)
		err := <-h.release
		<-prev
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case err != nil:
			s.failed = true
		case s.failed:
			err = errChained
		default:
			err = s.MemorySink.Append(context.Background(), lines)
		}
		h.err = err
	}()
	if s.hold > 0 {
		s.hold--
		s.sent <- h
	} else {
		h.release <- nil
	}
	return func(context.Context) error {
		<-h.done
		return h.err
	}
}

func (s *pipeSink) Last(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	s.failed = false
	s.mu.Unlock()
	return s.MemorySink.Last(ctx)
}

var errChained = errors.New("sent after a failed batch")

// guard bounds how long a test waits for what must happen without waiting
// for anything else: a failure deadline, never a measurement.
const guard = 30 * time.Second

// nextSend returns the next batch the Logger sends, failing t with why if
// none comes.
func nextSend(t *testing.T, s *pipeSink, why string) *heldSend {
	t.Helper()
	select {
	case h := <-s.sent:
		return h
	case <-time.After(guard):
		t.Fatal(why)
		return nil
	}
}

// TestPipelinerKeepsSeveralBatchesInFlight: with a Pipeliner, a batch of
// pipelineBatch records is sent while the first is not yet durable, one
// record short of it waits, and all land in order.
func TestPipelinerKeepsSeveralBatchesInFlight(t *testing.T) {
	sink := newPipeSink(2)
	l := newLogger(t, sink, newKey(t), WithCheckpointEvery(0), WithCheckpointInterval(0))
	results := []<-chan error{logAsync(l, entry(0))}
	h1 := nextSend(t, sink, "the first batch was not sent")
	for i := 1; i < pipelineBatch; i++ {
		results = append(results, logQueued(t, l, entry(i)))
	}
	select {
	case <-sink.sent:
		t.Fatalf("a batch of %d records was sent while one was in flight", pipelineBatch-1)
	default:
	}
	results = append(results, logAsync(l, entry(pipelineBatch)))
	h2 := nextSend(t, sink, "the second batch waited for the first to be durable")
	h2.release <- nil
	h1.release <- nil
	for _, r := range results {
		if err := <-r; err != nil {
			t.Fatal(err)
		}
	}
	recs := records(t, sink)
	if len(recs) != pipelineBatch+1 || recs[0].RequestID != "req-0000" || recs[1].Prev != recs[0].Hash {
		t.Fatalf("log = %s", export(t, sink))
	}
	mustVerify(t, sink, VerifyOptions{})
}

// TestPipelinerFailureFailsTheBatchesAfterIt fails the first of two
// batches in flight: the second fails too, nothing is written, and the
// next record continues the chain from what is durable.
func TestPipelinerFailureFailsTheBatchesAfterIt(t *testing.T) {
	sink := newPipeSink(3)
	l := newLogger(t, sink, newKey(t), WithCheckpointEvery(0), WithCheckpointInterval(0))
	first := logAsync(l, entry(0))
	h1 := nextSend(t, sink, "the first batch was not sent")
	var second []<-chan error
	for i := range pipelineBatch {
		second = append(second, logAsync(l, entry(1+i)))
	}
	h2 := nextSend(t, sink, "the second batch waited for the first to be durable")
	h1.release <- errInjected
	h2.release <- nil
	if err := <-first; !errors.Is(err, errInjected) {
		t.Fatalf("first batch: %v", err)
	}
	for _, r := range second {
		if err := <-r; err == nil {
			t.Fatal("a batch sent after a failed one succeeded")
		}
	}
	if got := export(t, sink); len(got) != 0 {
		t.Fatalf("log after the failed write = %q, want empty", got)
	}
	third := logAsync(l, entry(100))
	nextSend(t, sink, "no batch after the failure").release <- nil
	if err := <-third; err != nil {
		t.Fatal(err)
	}
	recs := records(t, sink)
	if len(recs) != 1 || recs[0].Seq != 1 || recs[0].RequestID != "req-0100" {
		t.Fatalf("log = %s", export(t, sink))
	}
	mustVerify(t, sink, VerifyOptions{})
}
