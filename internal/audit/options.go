package audit

import (
	"crypto/rand"
	"io"
	"time"
)

// config holds the Logger settings that Options change.
type config struct {
	every        uint64
	interval     time.Duration
	now          func() time.Time
	rand         io.Reader
	writeTimeout time.Duration
	onError      func(error)
	node         string
	witnesses    []Witness
	observe      func(lines int, took time.Duration)
	jsonRecords  bool // store request records as JSON, as before the compact form (tests of old logs)
}

func defaultConfig() config {
	return config{
		every:        1000,
		interval:     time.Minute,
		now:          time.Now,
		rand:         rand.Reader,
		writeTimeout: 30 * time.Second,
		onError:      func(error) {},
		observe:      func(int, time.Duration) {},
	}
}

// Option changes a Logger setting.
type Option func(*config)

// WithCheckpointEvery makes the Logger sign a checkpoint after every n
// request records (default 1000; 0 disables the count trigger).
func WithCheckpointEvery(n uint64) Option {
	return func(c *config) { c.every = n }
}

// WithCheckpointInterval makes the Logger sign a checkpoint once d has
// passed since the last one and new records were written (default one
// minute; 0 disables the time trigger).
func WithCheckpointInterval(d time.Duration) Option {
	return func(c *config) { c.interval = d }
}

// WithClock sets the clock used for record times and the checkpoint
// interval (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithRand sets the randomness for checkpoint signatures (default
// crypto/rand.Reader).
func WithRand(r io.Reader) Option {
	return func(c *config) { c.rand = r }
}

// WithWriteTimeout bounds each write to the sink (default 30s).
func WithWriteTimeout(d time.Duration) Option {
	return func(c *config) { c.writeTimeout = d }
}

// WithErrorHandler receives failures that no caller waits for: automatic
// checkpoints that could not be signed or saved. Records are unaffected.
func WithErrorHandler(fn func(error)) Option {
	return func(c *config) { c.onError = fn }
}

// WithWriteObserver receives, for every batch the sink has made durable,
// its number of lines (records and checkpoints) and how long it took from
// being sent to the sink until durable, by the Logger's clock: the wait
// that group commit adds to a request, for metrics.
func WithWriteObserver(fn func(lines int, took time.Duration)) Option {
	return func(c *config) { c.observe = fn }
}

// WithWitnesses sends every checkpoint, as a WitnessEntry naming node (""
// for a single node), to each of ws after it is in the log. A witness that
// fails goes to the error handler; the newest unsent checkpoint is sent
// again with the next one.
func WithWitnesses(node string, ws ...Witness) Option {
	return func(c *config) { c.node, c.witnesses = node, append(c.witnesses, ws...) }
}
