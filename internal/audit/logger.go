package audit

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"sync"

	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/fault"
)

// Errors the Logger returns (wrapped).
var (
	// ErrClosed is returned by Log and Checkpoint after Close.
	ErrClosed = errors.New("audit: logger closed")
	// ErrNoSigner is returned by Checkpoint when no audit key is loaded.
	ErrNoSigner = errors.New("audit: no checkpoint signing key loaded")
)

// MinHMACKeySize is the shortest HMAC key SetKeys accepts.
const MinHMACKeySize = 16

// queueSize bounds the records waiting for the writer; maxBatch bounds the
// records written with one Append.
const (
	queueSize = 4096
	maxBatch  = 512
)

// Logger appends hash-chained records to a Sink. Concurrent Log calls are
// group-committed: one writer goroutine chains every record that is waiting
// into a batch, written with a single Append that releases all their
// callers. Commits are pipelined: the next batch forms while the previous
// one is in flight, and is appended as soon as that one is durable, or at
// once, up to pipelineDepth batches in flight, when the sink is a
// Pipeliner.
type Logger struct {
	sink Sink
	pipe Pipeliner // sink, when it takes batches before the last is durable
	cfg  config

	keyMu sync.RWMutex
	keys  keys

	closeMu sync.RWMutex
	closed  bool
	jobs    chan *job
	quit    chan struct{}
	stopped chan struct{}

	// Owned by the writer goroutine (and New before it starts).
	state    chainState // where the next batch links in, once the one in flight is durable
	stale    bool       // state must be re-read from the sink before the next write
	inflight []*batch   // the batches being written, oldest first
	next     *batch     // the batch forming meanwhile, nil when none
	closeErr error
	// Owned by the flush of the batch in flight.
	pendCP  []byte // checkpoint line in the log but not yet saved by SaveCheckpoint
	pendWit []byte // witness entry of a checkpoint that a witness failed to keep
}

// keys are the audit keys loaded while the server is unsealed.
type keys struct {
	hmac   []byte
	macs   *sync.Pool // of HMAC-SM3 states keyed with hmac, reused across records
	signer crypto.Signer
	pub    *ecdsa.PublicKey
	pubB64 string
}

// job is one record to write, or a checkpoint request when rec is nil.
type job struct {
	rec  *Record
	done chan error
}

// New returns a Logger that continues the chain already in sink. It fails if
// the last record cannot be parsed, or if the sink's saved checkpoint lies
// beyond the end of the log, which means the log was truncated; an operator
// must then investigate (audit verify) before the server can audit again.
func New(sink Sink, opts ...Option) (*Logger, error) {
	pipe, _ := sink.(Pipeliner)
	l := &Logger{
		sink:    sink,
		pipe:    pipe,
		cfg:     defaultConfig(),
		jobs:    make(chan *job, queueSize),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	for _, opt := range opts {
		opt(&l.cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.writeTimeout)
	defer cancel()
	if err := l.resume(ctx); err != nil {
		return nil, err
	}
	go l.run()
	return l, nil
}

// SetKeys loads the audit keys after the server unseals: hmacKey (copied,
// at least MinHMACKeySize bytes) for sensitive fields, and signer, an SM2
// key, for checkpoints. A signer other than *sm2.PrivateKey must honour
// sm2.DefaultSM2SignerOpts, that is, sign the raw message with the default
// user ID.
func (l *Logger) SetKeys(hmacKey []byte, signer crypto.Signer) error {
	if len(hmacKey) < MinHMACKeySize {
		return fmt.Errorf("audit: HMAC key shorter than %d bytes", MinHMACKeySize)
	}
	pub, pubB64, err := encodePublicKey(signer)
	if err != nil {
		return err
	}
	l.keyMu.Lock()
	defer l.keyMu.Unlock()
	clear(l.keys.hmac)
	key := slices.Clone(hmacKey)
	macs := &sync.Pool{New: func() any { return hmac.New(sm3.New, key) }}
	l.keys = keys{hmac: key, macs: macs, signer: signer, pub: pub, pubB64: pubB64}
	return nil
}

// ClearKeys signs a checkpoint over the records written so far (so that
// the tail up to the seal is anchored), then wipes the HMAC key and drops
// the signer when the server seals. Later records redact sensitive fields
// and no checkpoints are signed. A checkpoint that fails goes to the error
// handler; the keys are cleared regardless.
func (l *Logger) ClearKeys() {
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.writeTimeout)
	defer cancel()
	if err := l.Checkpoint(ctx); err != nil && !errors.Is(err, ErrNoSigner) && !errors.Is(err, ErrClosed) {
		l.cfg.onError(fmt.Errorf("audit: checkpoint at seal: %w", err))
	}
	l.keyMu.Lock()
	defer l.keyMu.Unlock()
	clear(l.keys.hmac)
	l.keys = keys{}
}

// Log appends a record for e and returns once it is durable. Errors carry
// fault.AuditFailure: the caller must not act without its audit record. If
// ctx ends first Log returns an error, though the record may still be
// written.
func (l *Logger) Log(ctx context.Context, e Entry) error {
	j := &job{rec: l.newRecord(e), done: make(chan error, 1)}
	if err := l.submit(ctx, j); err != nil {
		return unavailable(err)
	}
	select {
	case err := <-j.done:
		if err != nil {
			return unavailable(err)
		}
		return nil
	case <-ctx.Done():
		return unavailable(ctx.Err())
	}
}

// Checkpoint signs a checkpoint over the records written so far, unless the
// last record already is one. It fails with ErrNoSigner while sealed.
func (l *Logger) Checkpoint(ctx context.Context) error {
	j := &job{done: make(chan error, 1)}
	if err := l.submit(ctx, j); err != nil {
		return err
	}
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued, signs a final checkpoint if a key is loaded
// and records were written since the last one, and stops the writer. It
// does not close the sink. It returns the final checkpoint's error, if any.
func (l *Logger) Close() error {
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		<-l.stopped
		return nil
	}
	l.closed = true
	close(l.quit)
	l.closeMu.Unlock()
	<-l.stopped
	return l.closeErr
}

// submit hands j to the writer.
func (l *Logger) submit(ctx context.Context, j *job) error {
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	select {
	case l.jobs <- j:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newRecord turns e into an unchained request record.
func (l *Logger) newRecord(e Entry) *Record {
	t := e.Time
	if y := t.UTC().Year(); t.IsZero() || y < 1 || y > 9999 { // unset, or not representable in RFC 3339
		t = l.cfg.now()
	}
	r := &Record{
		Time:      formatTime(t),
		Kind:      KindRequest,
		RequestID: cleanString(e.RequestID),
		Tenant:    cleanString(e.Tenant),
		Accessor:  cleanString(e.Accessor),
		Operation: cleanString(e.Operation),
		Object:    cleanString(e.Object),
		Status:    e.Status,
		Code:      cleanString(e.Code),
		Remote:    cleanString(e.Remote),
		Count:     e.Count,
	}
	if len(e.Sensitive) > 0 {
		r.HMAC = l.digests(e.Sensitive)
	}
	return r
}

// digests maps each sensitive field name to the hex HMAC-SM3 of its value,
// or to Redacted when no HMAC key is loaded.
func (l *Logger) digests(fields map[string][]byte) map[string]string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names) // names that clean to the same string resolve the same way every time
	out := make(map[string]string, len(fields))
	l.keyMu.RLock()
	defer l.keyMu.RUnlock()
	for _, name := range names {
		digest := Redacted
		if l.keys.macs != nil {
			mac := l.keys.macs.Get().(hash.Hash)
			mac.Reset()
			mac.Write(fields[name])
			var sum [sm3.Size]byte
			digest = hex.EncodeToString(mac.Sum(sum[:0]))
			l.keys.macs.Put(mac)
		}
		out[cleanString(name)] = digest
	}
	return out
}

// signingKeys returns the currently loaded signer, if any.
func (l *Logger) signingKeys() keys {
	l.keyMu.RLock()
	defer l.keyMu.RUnlock()
	return keys{signer: l.keys.signer, pub: l.keys.pub, pubB64: l.keys.pubB64}
}

// unavailable marks err as a failure to audit.
func unavailable(err error) error {
	return fault.Wrap(fmt.Errorf("audit: %w", err), fault.AuditFailure, "audit log unavailable")
}
