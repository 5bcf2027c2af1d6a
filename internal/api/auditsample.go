package api

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mimacrypto/mima/internal/audit"
)

// maxSampleKeys bounds the kinds of refusal a sampler tells apart within
// one interval; past it, refusals are told apart by operation and code
// only.
const maxSampleKeys = 10_000

// WithRefusalSampling records refused requests to public routes sampled
// rather than one by one, so that a flood of them costs no write each:
// in every interval, the first refusal of a kind (client, tenant,
// operation, error code) is recorded in full, and once the interval has
// ended one summary record, whose count says how many, stands for the
// others. now is the clock; summaries are written with the next audited
// request after their interval, and by FlushAudit.
func WithRefusalSampling(interval time.Duration, now func() time.Time) Option {
	return func(s *Server) { s.sampling, s.samplingNow = interval, now }
}

// sampler is the Auditor of a Server with refusal sampling.
type sampler struct {
	next   Auditor
	public map[string]bool // operations of the sampled routes
	every  time.Duration
	now    func() time.Time

	mu      sync.Mutex
	windows map[sampleKey]*window
	queue   []*window    // open windows, oldest first
	queued  atomic.Int64 // len(queue), read without mu
}

// sampleKey is a kind of refusal. Client is "" for the overflow windows.
type sampleKey struct{ client, tenant, op, code string }

// window counts the refusals of one kind not recorded since start.
type window struct {
	key        sampleKey
	status     int
	start      time.Time
	suppressed uint64
}

func newSampler(next Auditor, public map[string]bool, every time.Duration, now func() time.Time) *sampler {
	return &sampler{next: next, public: public, every: every, now: now, windows: map[sampleKey]*window{}}
}

// Log records e, unless it is a refusal that an open window counts.
func (s *sampler) Log(ctx context.Context, e audit.Entry) error {
	if s.queued.Load() > 0 {
		s.flush(ctx, false)
	}
	if !s.public[e.Operation] || e.Status < http.StatusBadRequest || s.count(e) {
		return s.next.Log(ctx, e)
	}
	return nil
}

// count opens a window for a refusal of a new kind and reports that e is
// to be recorded, or counts e in its open window.
func (s *sampler) count(e audit.Entry) bool {
	now := s.now()
	k := sampleKey{client: clientKey(e.Remote), tenant: e.Tenant, op: e.Operation, code: e.Code}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.windows[k]; !ok && len(s.windows) >= maxSampleKeys {
		k = sampleKey{op: e.Operation, code: e.Code}
	}
	if w, ok := s.windows[k]; ok {
		w.suppressed++
		return false
	}
	w := &window{key: k, status: e.Status, start: now}
	s.windows[k] = w
	s.queue = append(s.queue, w)
	s.queued.Store(int64(len(s.queue)))
	return true
}

// flush closes the windows whose interval has ended (all of them with
// all) and records a summary of each that counted refusals. A summary
// that cannot be written goes back to be written later.
func (s *sampler) flush(ctx context.Context, all bool) {
	now := s.now()
	s.mu.Lock()
	var due []*window
	for len(s.queue) > 0 && (all || !now.Before(s.queue[0].start.Add(s.every))) {
		w := s.queue[0]
		s.queue = s.queue[1:]
		delete(s.windows, w.key)
		if w.suppressed > 0 {
			due = append(due, w)
		}
	}
	s.queued.Store(int64(len(s.queue)))
	s.mu.Unlock()
	for i, w := range due {
		err := s.next.Log(ctx, audit.Entry{Tenant: w.key.tenant, Operation: w.key.op, Status: w.status, Code: w.key.code,
			Remote: w.key.client, Count: w.suppressed})
		if err != nil {
			s.requeue(due[i:])
			return
		}
	}
}

// requeue puts back windows whose summary was not written; their counts
// join the open window of their kind, if there is one.
func (s *sampler) requeue(ws []*window) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range ws {
		if open, ok := s.windows[w.key]; ok {
			open.suppressed += w.suppressed
			continue
		}
		s.windows[w.key] = w
		s.queue = append([]*window{w}, s.queue...)
	}
	s.queued.Store(int64(len(s.queue)))
}

// FlushAudit writes the summaries of sampled refusals that are still
// counted, whether or not their interval has ended; a server calls it
// before closing its audit log.
func (s *Server) FlushAudit(ctx context.Context) {
	if sm, ok := s.auditor.(*sampler); ok {
		sm.flush(ctx, true)
	}
}
