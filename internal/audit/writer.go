package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// chainState is where the next record links in.
type chainState struct {
	seq    uint64    // seq of the last record
	prev   string    // hash of the last record
	since  uint64    // request records since the last checkpoint
	lastCP time.Time // when the last checkpoint was signed
}

// link assigns r the next seq and prev, computes its hash and returns its
// line. st advances only on success.
func (st *chainState) link(r *Record) ([]byte, error) {
	r.Seq, r.Prev = st.seq+1, st.prev
	r.Hash = recordHash(r)
	line, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("audit: encode record: %w", err)
	}
	if len(line) > MaxLineSize {
		return nil, ErrLineTooLong
	}
	st.seq, st.prev = r.Seq, r.Hash
	return line, nil
}

// resume reads the chain's end and the checkpoint counters from the sink.
func (l *Logger) resume(ctx context.Context) error {
	st := chainState{prev: zeroHash, lastCP: l.cfg.now()}
	last, err := l.sink.Last(ctx)
	if err != nil {
		return fmt.Errorf("audit: read last record: %w", err)
	}
	var lastRec *Record
	if last != nil {
		if lastRec, err = ParseRecord(last); err != nil {
			return fmt.Errorf("audit: last record: %w", err)
		}
		st.seq, st.prev = lastRec.Seq, lastRec.Hash
	}
	cp, err := l.savedCheckpoint(ctx, st.seq)
	if err != nil {
		return err
	}
	if lastRec != nil && lastRec.Kind == KindCheckpoint {
		cp = lastRec
	}
	st.since = st.seq
	if cp != nil {
		st.since = st.seq - cp.Seq
		st.lastCP, _ = time.Parse(time.RFC3339Nano, cp.Time) // validated by ParseRecord
	}
	l.state, l.stale = st, false
	return nil
}

// savedCheckpoint returns the sink's saved checkpoint, or nil. It fails if
// the checkpoint lies beyond end, the last seq in the log: the log was
// truncated.
func (l *Logger) savedCheckpoint(ctx context.Context, end uint64) (*Record, error) {
	line, err := l.sink.LoadCheckpoint(ctx)
	if err != nil || line == nil {
		return nil, err
	}
	cp, err := ParseRecord(line)
	if err != nil {
		return nil, fmt.Errorf("audit: saved checkpoint: %w", err)
	}
	if cp.Kind != KindCheckpoint {
		return nil, errors.New("audit: saved checkpoint is not a checkpoint record")
	}
	if cp.Seq > end {
		return nil, fmt.Errorf("audit: log truncated: saved checkpoint is record %d, log ends at %d", cp.Seq, end)
	}
	return cp, nil
}

// batch is one group commit. The writer goroutine forms it (chains its
// records on the state the batch before it will leave), then a flush
// appends it once that batch is durable: the next batch forms while the
// previous one is in flight.
type batch struct {
	jobs    []*job
	errs    []error // per job: a record that could not be chained
	lines   [][]byte
	cps     [][]byte // the checkpoint lines among lines
	signErr error    // the checkpoint a request or the final batch asked for failed
	seal    bool     // seal the segment once appended: the batch ends with a checkpoint
	final   bool

	done      chan struct{} // closed when every job is answered
	appendErr error         // Append failed: every batch chained on this one fails too
	err       error         // what a checkpoint request or Close learns
}

// run is the writer goroutine.
func (l *Logger) run() {
	defer close(l.stopped)
	var tick <-chan time.Time
	if l.cfg.interval > 0 {
		t := time.NewTicker(l.cfg.interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case j := <-l.jobs:
			l.commit(l.drain(j), false)
		case <-tick:
			l.commit(nil, false)
		case <-l.quit:
			// Close has stopped submissions, so the queue only shrinks.
			for len(l.jobs) > 0 {
				l.commit(l.drain(<-l.jobs), false)
			}
			b, err := l.commit(nil, true)
			l.settle()
			if err == nil {
				err = b.err
			}
			l.closeErr = err
			return
		}
	}
}

// commit forms a batch of jobs and launches it. When the chain must first
// be re-read and that fails, it answers the jobs with the error instead.
// final asks for a closing checkpoint.
func (l *Logger) commit(jobs []*job, final bool) (*batch, error) {
	b, err := l.form(jobs, final)
	if err != nil {
		answer(jobs, err)
		return nil, err
	}
	l.launch(b)
	return b, nil
}

// drain returns first and the jobs queued behind it, up to maxBatch.
func (l *Logger) drain(first *job) []*job {
	batch := []*job{first}
	for len(batch) < maxBatch {
		select {
		case j := <-l.jobs:
			batch = append(batch, j)
		default:
			return batch
		}
	}
	return batch
}

// form chains the records of jobs on the state the batch in flight will
// leave and adds the checkpoints that are due. It fails only when the
// chain must first be re-read from the sink and that fails.
func (l *Logger) form(jobs []*job, final bool) (*batch, error) {
	b := &batch{jobs: jobs, final: final, errs: make([]error, len(jobs)), done: make(chan struct{})}
	l.reap()
	if l.stale {
		l.settle()
		ctx, cancel := context.WithTimeout(context.Background(), l.cfg.writeTimeout)
		err := l.resume(ctx)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	k := l.signingKeys()
	st := &l.state
	addCheckpoint := func() error {
		if k.signer == nil {
			return ErrNoSigner
		}
		line, err := l.checkpoint(st, k)
		if err != nil {
			return err
		}
		b.lines, b.cps = append(b.lines, line), append(b.cps, line)
		return nil
	}
	requested := final
	for i, j := range jobs {
		if j.rec == nil {
			requested = true
			continue
		}
		line, err := st.link(j.rec)
		if err != nil {
			b.errs[i] = err
			continue
		}
		b.lines = append(b.lines, line)
		st.since++
		if l.cfg.every > 0 && st.since >= l.cfg.every && k.signer != nil {
			if err := addCheckpoint(); err != nil {
				l.cfg.onError(err)
			}
		}
	}
	seg, _ := l.sink.(Segmenter)
	// A batch in flight that seals has not yet emptied the segment that
	// SealDue measures: sealing again would cut a segment of one batch.
	seal := seg != nil && k.signer != nil && (l.inflight == nil || !l.inflight.seal) && seg.SealDue(l.cfg.now())
	if st.since > 0 && (requested || seal || l.intervalDue(*st)) {
		b.signErr = addCheckpoint()
		if b.signErr != nil && !requested && !errors.Is(b.signErr, ErrNoSigner) {
			l.cfg.onError(b.signErr)
		}
	}
	b.seal = seal && st.since == 0
	return b, nil
}

// reap forgets the batch in flight if it is finished, noting whether its
// write failed.
func (l *Logger) reap() {
	if l.inflight == nil {
		return
	}
	select {
	case <-l.inflight.done:
		l.stale = l.stale || l.inflight.appendErr != nil
		l.inflight = nil
	default:
	}
}

// settle waits for the batch in flight to finish.
func (l *Logger) settle() {
	if l.inflight != nil {
		<-l.inflight.done
		l.reap()
	}
}

// launch starts b's flush once the batch before it is durable. If that
// batch failed, b was chained on records that are not in the log: b fails
// too, and the chain is re-read before the next batch forms.
func (l *Logger) launch(b *batch) {
	if prev := l.inflight; prev != nil {
		l.settle()
		if prev.appendErr != nil {
			b.appendErr = fmt.Errorf("audit: chained on a write that failed: %w", prev.appendErr)
			b.err = b.appendErr
			answer(b.jobs, b.err)
			close(b.done)
			return
		}
	}
	l.inflight = b
	go l.flush(b)
}

// flush writes b with one Append, saves and witnesses its checkpoints,
// seals the segment if b closes it, and answers every job. Flushes run
// one at a time, in order: launch starts one only after the one before
// has finished.
func (l *Logger) flush(b *batch) {
	defer close(b.done)
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.writeTimeout)
	defer cancel()
	if len(b.lines) > 0 {
		if err := l.sink.Append(ctx, b.lines); err != nil {
			// The sink may not have kept its promise: the writer re-reads
			// the chain before the next batch forms.
			b.appendErr, b.err = err, err
			answer(b.jobs, err)
			return
		}
	}
	if len(b.cps) > 0 {
		l.pendCP = b.cps[len(b.cps)-1]
	}
	var saveErr error
	if l.pendCP != nil {
		if saveErr = l.sink.SaveCheckpoint(ctx, l.pendCP); saveErr != nil {
			l.cfg.onError(saveErr)
		} else {
			l.pendCP = nil
		}
	}
	l.witness(ctx, b.cps)
	if b.seal {
		if err := l.sink.(Segmenter).Seal(ctx); err != nil {
			l.cfg.onError(err)
		}
	}
	for i, j := range b.jobs {
		if j.rec == nil {
			j.done <- errors.Join(b.signErr, saveErr)
		} else {
			j.done <- b.errs[i]
		}
	}
	signErr := b.signErr
	if b.final && errors.Is(signErr, ErrNoSigner) {
		signErr = nil // sealed at shutdown: nothing to sign with
	}
	b.err = errors.Join(signErr, saveErr)
}

// intervalDue reports whether the time trigger asks for a checkpoint.
func (l *Logger) intervalDue(st chainState) bool {
	return l.cfg.interval > 0 && !l.cfg.now().Before(st.lastCP.Add(l.cfg.interval))
}

// checkpoint signs and chains a checkpoint over the records up to st.
func (l *Logger) checkpoint(st *chainState, k keys) ([]byte, error) {
	now := l.cfg.now()
	cp, err := signCheckpoint(l.cfg.rand, k.signer, k.pub, k.pubB64, st.prev, st.seq, formatTime(now))
	if err != nil {
		return nil, err
	}
	line, err := st.link(cp)
	if err != nil {
		return nil, err
	}
	st.since, st.lastCP = 0, now
	return line, nil
}

// witness sends the entries of the new checkpoints cps to every witness,
// after the one an earlier attempt failed to send. It runs before the jobs
// are answered, so that Checkpoint and Close return with their checkpoint
// witnessed. On failure only the newest entry is kept for the next
// attempt: its chain covers every record before it.
func (l *Logger) witness(ctx context.Context, cps [][]byte) {
	if len(l.cfg.witnesses) == 0 || len(cps) == 0 {
		return
	}
	var entries [][]byte
	if l.pendWit != nil {
		entries = append(entries, l.pendWit)
	}
	for _, cp := range cps {
		entries = append(entries, witnessEntry(l.cfg.node, cp))
	}
	l.pendWit = nil
	for _, w := range l.cfg.witnesses {
		for _, e := range entries {
			if err := w.Witness(ctx, e); err != nil {
				l.pendWit = entries[len(entries)-1]
				l.cfg.onError(fmt.Errorf("audit: witness: %w", err))
				break
			}
		}
	}
}

// answer fails every job with err.
func answer(jobs []*job, err error) {
	for _, j := range jobs {
		j.done <- err
	}
}
