// Package usage meters the API's calls per tenant, operation and key in
// one-minute buckets, for the console's charts and for billing. The meter
// lives in the memory of one node: each node counts the calls it served,
// and the counts of a node are lost when it stops (see docs/console.md).
package usage

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Step is the width of a bucket.
const Step = time.Minute

// DefaultKeep is how long buckets are kept.
const DefaultKeep = 48 * time.Hour

// Dimensions a query groups by.
const (
	ByOperation = "operation"
	ByKey       = "key"
	ByTenant    = "tenant"
)

// latencyBounds are the upper bounds, in milliseconds, of the latency
// histogram's buckets; the last bucket is unbounded.
var latencyBounds = [...]float64{0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

// cellKey names the counts of one minute of one tenant, operation and key.
type cellKey struct {
	minute     int64 // Unix minute
	tenant, op string
	key        string
}

// cell holds counts that requests add to without a lock.
type cell struct {
	count, errors atomic.Uint64
	latency       [len(latencyBounds) + 1]atomic.Uint64
}

// Meter counts calls. Its methods are safe for concurrent use; recording
// a call takes no lock shared with other calls' cells.
type Meter struct {
	now   func() time.Time
	keep  time.Duration
	cells sync.Map // cellKey → *cell
	// pruned is the minute up to which old cells were last removed.
	pruned atomic.Int64
}

// Option configures a Meter.
type Option func(*Meter)

// WithClock sets the meter's clock (tests).
func WithClock(now func() time.Time) Option { return func(m *Meter) { m.now = now } }

// WithKeep sets how long buckets are kept.
func WithKeep(d time.Duration) Option { return func(m *Meter) { m.keep = d } }

// New returns an empty meter.
func New(opts ...Option) *Meter {
	m := &Meter{now: time.Now, keep: DefaultKeep}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Now is the meter's clock.
func (m *Meter) Now() time.Time { return m.now() }

// Record counts one call of op on key (empty when the call names no key)
// in tenant; failed calls count as errors too.
func (m *Meter) Record(tenant, op, key string, failed bool, took time.Duration) {
	minute := m.now().Unix() / 60
	k := cellKey{minute: minute, tenant: tenant, op: op, key: key}
	v, ok := m.cells.Load(k)
	if !ok {
		v, _ = m.cells.LoadOrStore(k, new(cell))
	}
	c := v.(*cell)
	c.count.Add(1)
	if failed {
		c.errors.Add(1)
	}
	ms := float64(took) / float64(time.Millisecond)
	i, _ := slices.BinarySearch(latencyBounds[:], ms)
	c.latency[i].Add(1)
	m.prune(minute)
}

// prune removes cells older than the keep window, at most once a minute.
func (m *Meter) prune(minute int64) {
	last := m.pruned.Load()
	if minute <= last || !m.pruned.CompareAndSwap(last, minute) {
		return
	}
	oldest := minute - int64(m.keep/Step)
	m.cells.Range(func(k, _ any) bool {
		if k.(cellKey).minute < oldest {
			m.cells.Delete(k)
		}
		return true
	})
}

// Point is one bucket of a series.
type Point struct {
	Time   time.Time `json:"time"`
	Count  uint64    `json:"count"`
	Errors uint64    `json:"errors"`
	// P50, P90 and P99 are latency percentiles in milliseconds, each the
	// upper bound of the histogram bucket it falls in.
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
}

// Series is the counts of one operation, key or tenant over time.
type Series struct {
	Name   string  `json:"name"`
	Count  uint64  `json:"count"`
	Errors uint64  `json:"errors"`
	Points []Point `json:"points"`
}

// Query returns the counts of tenant (every tenant when tenant is empty)
// in [from, to), grouped by one of ByOperation, ByKey or ByTenant, one
// point per minute that saw calls. By key, calls that name no key are
// left out.
func (m *Meter) Query(tenant string, from, to time.Time, by string) []Series {
	type group struct {
		name   string
		minute int64
	}
	sums := map[group]*[len(latencyBounds) + 3]uint64{} // count, errors, histogram
	first, last := from.Unix()/60, (to.Unix()+59)/60
	if from.Unix()%60 != 0 {
		first++ // only whole minutes inside [from, to)
	}
	m.cells.Range(func(kv, v any) bool {
		k := kv.(cellKey)
		if k.minute < first || k.minute >= last || (tenant != "" && k.tenant != tenant) {
			return true
		}
		name := k.op
		switch by {
		case ByKey:
			name = k.key
		case ByTenant:
			name = k.tenant
		}
		if name == "" {
			return true
		}
		g := group{name, k.minute}
		s := sums[g]
		if s == nil {
			s = new([len(latencyBounds) + 3]uint64)
			sums[g] = s
		}
		c := v.(*cell)
		s[0] += c.count.Load()
		s[1] += c.errors.Load()
		for i := range c.latency {
			s[2+i] += c.latency[i].Load()
		}
		return true
	})
	byName := map[string]*Series{}
	for g, s := range sums {
		ser := byName[g.name]
		if ser == nil {
			ser = &Series{Name: g.name}
			byName[g.name] = ser
		}
		ser.Count += s[0]
		ser.Errors += s[1]
		hist := s[2:]
		ser.Points = append(ser.Points, Point{
			Time: time.Unix(g.minute*60, 0).UTC(), Count: s[0], Errors: s[1],
			P50: percentile(hist, s[0], 0.50), P90: percentile(hist, s[0], 0.90), P99: percentile(hist, s[0], 0.99),
		})
	}
	out := make([]Series, 0, len(byName))
	for _, ser := range byName {
		slices.SortFunc(ser.Points, func(a, b Point) int { return a.Time.Compare(b.Time) })
		out = append(out, *ser)
	}
	slices.SortFunc(out, func(a, b Series) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// percentile is the upper bound of the histogram bucket holding the q-th
// quantile of n calls; the unbounded bucket reports the last bound.
func percentile(hist []uint64, n uint64, q float64) float64 {
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.999999)
	var seen uint64
	for i, c := range hist {
		seen += c
		if seen >= rank {
			return latencyBounds[min(i, len(latencyBounds)-1)]
		}
	}
	return latencyBounds[len(latencyBounds)-1]
}
