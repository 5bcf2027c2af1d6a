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
// line: compact when asked and r can be, else JSON. st advances only on
// success.
func (st *chainState) link(r *Record, compact bool) ([]byte, error) {
	r.Seq, r.Prev = st.seq+1, st.prev
	var line []byte
	if compact && compactable(r) {
		line = linkCompact(r)
	} else {
		r.Hash = recordHash(r)
		var err error
		if line, err = json.Marshal(r); err != nil {
			return nil, fmt.Errorf("audit: encode record: %w", err)
		}
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

// batch is one group commit. While the batch before it is in flight, the
// writer goroutine chains every record that arrives into the next batch,
// on the state the one in flight will leave; the next is appended as soon
// as the one in flight is durable.
type batch struct {
	jobs      []*job
	errs      []error // per job: a record that could not be chained
	lines     [][]byte
	cps       [][]byte  // the checkpoint lines among lines
	requested bool      // a job asked for a checkpoint
	final     bool      // Close asked for a closing checkpoint
	signErr   error     // that checkpoint failed
	seal      bool      // seal the segment once appended: the batch ends with a checkpoint
	sent      time.Time // when launch handed it to the sink

	done      chan struct{} // closed when every job is answered
	appendErr error         // Append failed: the batch chained on this one fails too
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
		jobs := l.jobs
		if l.next != nil && len(l.next.jobs) >= maxBatch {
			jobs = nil // full: it waits for the batch in flight
		}
		var landed <-chan struct{}
		if len(l.inflight) > 0 {
			landed = l.inflight[0].done
		}
		select {
		case j := <-jobs:
			l.add(j)
		case <-landed:
			l.land()
		case <-tick:
			l.batch() // an empty batch still signs a checkpoint that is due
		case <-l.quit:
			l.closeErr = l.finish()
			return
		}
		if l.next != nil && l.room() {
			l.launch()
		}
	}
}

// finish writes what is queued, then a closing batch, and returns the
// closing batch's error. Close has stopped submissions, so the queue only
// shrinks.
func (l *Logger) finish() error {
	for len(l.jobs) > 0 {
		l.add(<-l.jobs)
		if l.next != nil && len(l.next.jobs) >= maxBatch {
			l.settle()
			if l.next != nil {
				l.launch()
			}
		}
	}
	b, err := l.batch()
	if err != nil {
		return err
	}
	b.final = true
	l.settle()
	if l.next == b {
		l.launch()
		l.settle()
	}
	return b.err
}

// batch returns the batch that is forming, starting one if there is none.
// A new batch first re-reads the chain if a write failed.
func (l *Logger) batch() (*batch, error) {
	if l.next != nil {
		return l.next, nil
	}
	if l.stale {
		ctx, cancel := context.WithTimeout(context.Background(), l.cfg.writeTimeout)
		defer cancel()
		if err := l.resume(ctx); err != nil {
			return nil, err
		}
	}
	l.next = &batch{done: make(chan struct{})}
	return l.next, nil
}

// add chains j's record into the forming batch, with the checkpoint that
// the count of records may ask for.
func (l *Logger) add(j *job) {
	b, err := l.batch()
	if err != nil {
		j.done <- err
		return
	}
	b.jobs = append(b.jobs, j)
	if j.rec == nil {
		b.requested = true
		b.errs = append(b.errs, nil)
		return
	}
	line, err := l.state.link(j.rec, !l.cfg.jsonRecords)
	b.errs = append(b.errs, err)
	if err != nil {
		return
	}
	b.lines = append(b.lines, line)
	l.state.since++
	if l.cfg.every > 0 && l.state.since >= l.cfg.every {
		if k := l.signingKeys(); k.signer != nil {
			if err := l.addCheckpoint(b, k); err != nil {
				l.cfg.onError(err)
			}
		}
	}
}

// addCheckpoint signs a checkpoint over the chain so far and adds it to b.
func (l *Logger) addCheckpoint(b *batch, k keys) error {
	if k.signer == nil {
		return ErrNoSigner
	}
	line, err := l.checkpoint(&l.state, k)
	if err != nil {
		return err
	}
	b.lines, b.cps = append(b.lines, line), append(b.cps, line)
	return nil
}

// pipelineDepth bounds the batches in flight to a Pipeliner, and
// pipelineBatch is the fewest lines a batch sent while others are in
// flight has: every commit costs the database work, so under a steady load
// the pipeline carries batches, not single records.
const (
	pipelineDepth = 8
	pipelineBatch = 8
)

// room reports whether the forming batch may be launched: none is in
// flight, or the sink is a Pipeliner with fewer than pipelineDepth in
// flight, none of which seals the segment (the next belongs in the new
// one), and the batch has pipelineBatch lines.
func (l *Logger) room() bool {
	n := len(l.inflight)
	if n == 0 {
		return true
	}
	return l.pipe != nil && n < pipelineDepth && !l.inflight[n-1].seal && len(l.next.lines) >= pipelineBatch
}

// land forgets the oldest batch in flight once it is finished. If its
// write failed, its callers learn it now; the batches in flight after it
// and the forming one, chained on records that are not in the log, fail
// too, and the chain is re-read before the next one forms.
func (l *Logger) land() {
	f := l.inflight[0]
	l.inflight = l.inflight[1:]
	if f.appendErr == nil {
		return
	}
	l.stale = true
	answer(f.jobs, f.appendErr)
	for _, g := range l.inflight {
		<-g.done
		if g.appendErr == nil {
			// The sink broke its promise and kept a batch after a failed
			// one; its callers were answered, and the re-read chain will
			// show the gap to verification.
			l.cfg.onError(errors.New("audit: a batch after a failed one was kept"))
			continue
		}
		answer(g.jobs, g.appendErr)
	}
	l.inflight = nil
	if b := l.next; b != nil {
		l.next = nil
		b.appendErr = fmt.Errorf("audit: chained on a write that failed: %w", f.appendErr)
		b.err = b.appendErr
		answer(b.jobs, b.err)
		close(b.done)
	}
}

// settle waits for every batch in flight to finish.
func (l *Logger) settle() {
	for len(l.inflight) > 0 {
		<-l.inflight[0].done
		l.land()
	}
}

// launch closes the forming batch with the checkpoints that are due and
// starts writing it; there is room for it (room).
func (l *Logger) launch() {
	b := l.next
	l.next = nil
	k := l.signingKeys()
	seg, _ := l.sink.(Segmenter)
	seal := seg != nil && k.signer != nil && seg.SealDue(l.cfg.now())
	asked := b.requested || b.final
	if l.state.since > 0 && (asked || seal || l.intervalDue(l.state)) {
		b.signErr = l.addCheckpoint(b, k)
		if b.signErr != nil && !asked && !errors.Is(b.signErr, ErrNoSigner) {
			l.cfg.onError(b.signErr)
		}
	}
	b.seal = seal && l.state.since == 0
	var prev *batch
	if n := len(l.inflight); n > 0 {
		prev = l.inflight[n-1]
	}
	b.sent = l.cfg.now()
	write := func(ctx context.Context) error { return l.sink.Append(ctx, b.lines) }
	if l.pipe != nil {
		write = l.pipe.Send(b.lines) // sent now, in the order of the chain
	}
	l.inflight = append(l.inflight, b)
	go l.flush(b, prev, write)
}

// flush writes b (write appends or waits for its lines), saves and
// witnesses its checkpoints, seals the segment if b closes it, and answers
// every job. What follows the write runs after prev's flush has finished,
// so flushes finish one at a time, in order.
func (l *Logger) flush(b, prev *batch, write func(context.Context) error) {
	defer close(b.done)
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.writeTimeout)
	defer cancel()
	var err error
	if len(b.lines) > 0 {
		if err = write(ctx); err == nil {
			l.cfg.observe(len(b.lines), l.cfg.now().Sub(b.sent))
		}
	}
	if prev != nil {
		<-prev.done
	}
	if err != nil {
		// The sink may not have kept its promise: the writer re-reads the
		// chain before the next batch forms. Its callers are answered when
		// the writer lands the batch (land), so that a record logged after
		// the failure is answered is never chained on it.
		b.appendErr, b.err = err, err
		return
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
	line, err := st.link(cp, false)
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
