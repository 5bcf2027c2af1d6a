package audit

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// verifyTask is one segment to verify: a sealed one (seg set) or the
// active one.
type verifyTask struct {
	seg   *SegmentInfo
	start uint64 // seq of the record before the segment
	prev  string // its hash
	v     *verifier
	err   error
}

// newTask returns a task that verifies a segment starting after record
// start, whose hash is prev.
func newTask(main *verifier, seg *SegmentInfo, start uint64, prev string) *verifyTask {
	return &verifyTask{seg: seg, start: start, prev: prev, v: main.fork(start, prev)}
}

// verifyLayout verifies a segmented log: every segment on its own, in
// parallel on all cores, each from the start its manifest entry (or the
// active segment's header) gives, then the links between them from the
// manifest. With opts.From it starts at that trusted checkpoint; without
// it, at the first record, or at the first segment present when retention
// removed the oldest ones or l is an archive (which has no active segment).
func verifyLayout(ctx context.Context, l *layout, opts VerifyOptions) (Report, error) {
	defer l.close()
	main, err := newVerifier(opts)
	if err != nil {
		return Report{}, err
	}
	segs := l.man.Segments
	activeSeq, activePrev := uint64(0), zeroHash
	if n := len(segs); n > 0 {
		activeSeq, activePrev = segs[n-1].LastSeq, checkpointHash(segs[n-1])
	}
	startSeq, startPrev := uint64(0), zeroHash
	if opts.From != nil {
		from, _ := ParseRecord(opts.From) // checked by newVerifier
		for len(segs) > 0 && segs[0].LastSeq < from.Seq {
			segs = segs[1:]
		}
		switch {
		case len(segs) > 0 && segs[0].LastSeq == from.Seq && checkpointHash(segs[0]) == from.Hash:
			startSeq, startPrev, segs = from.Seq, from.Hash, segs[1:]
		case len(segs) > 0:
			startSeq, startPrev = segs[0].FirstSeq-1, segs[0].Prev
		default:
			startSeq, startPrev = activeSeq, activePrev
		}
	} else if present := online(segs); len(present) < len(segs) || l.active == nil {
		startSeq, startPrev, segs = firstPresent(present, activeSeq, activePrev)
	}
	tasks := make([]*verifyTask, 0, len(segs)+1)
	for i := range segs {
		tasks = append(tasks, newTask(main, &segs[i], segs[i].FirstSeq-1, segs[i].Prev))
	}
	tasks = append(tasks, newTask(main, nil, activeSeq, activePrev))
	runTasks(ctx, l, tasks)
	return merge(main, tasks, startSeq, startPrev)
}

// activeHeader is the header the active segment must have: none for the
// first segment, else one linking to the last sealed segment.
func (l *layout) activeHeader() segmentHeader {
	n := len(l.man.Segments)
	if n == 0 {
		return segmentHeader{}
	}
	last := l.man.Segments[n-1]
	return segmentHeader{FirstSeq: last.LastSeq + 1, Prev: checkpointHash(last)}
}

// runTasks verifies the tasks on GOMAXPROCS goroutines.
func runTasks(ctx context.Context, l *layout, tasks []*verifyTask) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan *verifyTask)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(tasks)) {
		wg.Go(func() {
			for t := range next {
				if t.seg != nil {
					t.err = verifySegment(ctx, l.dir, *t.seg, t.v)
				} else {
					t.err = scanSegment(ctx, l.activeReader(), l.activeHeader(), t.v.add)
					if errors.Is(t.err, ErrMalformed) {
						t.err = t.v.fail(t.start+1, ReasonMalformed+": segment header")
					}
				}
				if t.err != nil && !errors.Is(t.err, errStop) {
					cancel() // a read failed: the report is lost anyway
				}
			}
		})
	}
	for _, t := range tasks {
		next <- t
	}
	close(next)
	wg.Wait()
}

// merge joins the segments' results in order into one report: each
// segment must start where the one before ended, and every checkpoint use
// one key.
func merge(main *verifier, tasks []*verifyTask, seq uint64, prev string) (Report, error) {
	rep := &main.rep
	for _, t := range tasks {
		if t.err != nil && !errors.Is(t.err, errStop) {
			return Report{}, t.err
		}
		r := &t.v.rep
		if t.start != seq || t.prev != prev {
			main.fail(seq+1, ReasonLink+" (segments do not join)")
			break
		}
		if r.PublicKey != "" {
			if rep.PublicKey != "" && r.PublicKey != rep.PublicKey {
				main.fail(r.LastCheckpointSeq, ReasonUnexpectedKey)
				break
			}
			rep.PublicKey, rep.LastCheckpointSeq, rep.LastCheckpointTime = r.PublicKey, r.LastCheckpointSeq, r.LastCheckpointTime
		}
		rep.Records += r.Records
		rep.Checkpoints += r.Checkpoints
		if r.Records > 0 {
			seq, prev = t.v.seq, t.v.head()
		}
		if r.FirstBad != nil {
			rep.FirstBad = r.FirstBad
			break
		}
	}
	if rep.FirstBad == nil && seq < rep.ExternalSeq {
		main.fail(seq+1, fmt.Sprintf("%s: checkpoint (record %d) covers %d records, log has %d", ReasonTruncated, rep.ExternalSeq, rep.ExternalSeq-1, seq))
	}
	main.seq = seq
	hex.Decode(main.prev[:], []byte(prev)) // the head that finish reports
	if tasks[0].start > 0 {
		rep.FirstSeq = tasks[0].start + 1
	}
	return main.finish(errStop)
}
