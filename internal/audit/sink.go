package audit

import (
	"context"
	"time"
)

// Source reads a stored audit log; Verify and Export work on any Source.
type Source interface {
	// Scan calls fn with every complete line of the log, oldest first,
	// without its '\n', and stops at the first error fn returns. The line is
	// only valid during the call.
	Scan(ctx context.Context, fn func(line []byte) error) error
	// LoadCheckpoint returns the latest checkpoint record kept outside the
	// log, or nil when there is none.
	LoadCheckpoint(ctx context.Context) ([]byte, error)
}

// Sink is where the Logger writes. Implementations are safe for concurrent
// use, but the Logger calls the writing methods from one goroutine.
type Sink interface {
	Source
	// Append adds lines (each without '\n') to the end of the log. They are
	// durable when it returns nil. When it returns an error none of them
	// may be in the log; a sink that cannot undo a partial write must
	// refuse further appends until it can.
	Append(ctx context.Context, lines [][]byte) error
	// Last returns the last line of the log, or nil when it is empty.
	Last(ctx context.Context) ([]byte, error)
	// SaveCheckpoint durably replaces the checkpoint that LoadCheckpoint
	// returns with line, a checkpoint record already in the log.
	SaveCheckpoint(ctx context.Context, line []byte) error
}

// Segmenter is a Sink that stores its log as segments, each closed by a
// checkpoint. When SealDue reports true the Logger ends its next batch
// with a checkpoint and then calls Seal.
type Segmenter interface {
	// SealDue reports whether the active segment should be sealed.
	SealDue(now time.Time) bool
	// Seal closes the active segment; its last record is a checkpoint.
	Seal(ctx context.Context) error
}

// Pipeliner is a Sink that takes the next batch before the previous one is
// durable, such as a database across a network: the Logger then keeps
// several batches in flight, so that each costs the round trip in latency
// but not in throughput.
type Pipeliner interface {
	// Send appends lines after every batch sent before, returning at once;
	// wait reports when they are durable, or why not. A batch sent after
	// one that failed fails too: no line is ever in the log after one
	// that is not.
	Send(lines [][]byte) (wait func(context.Context) error)
}
