package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// indexMagic names the format of a segment index.
const indexMagic = "mima/audit/index/v1"

// segmentIndex summarises the request records of one sealed segment, so
// that a search skips a segment that cannot match without reading or
// decompressing it. It is a hint, not evidence: an index that does not
// name its segment's range and closing checkpoint is ignored, and only
// verification proves what the segment holds.
type segmentIndex struct {
	Index      string `json:"index"`
	FirstSeq   uint64 `json:"first_seq"`
	LastSeq    uint64 `json:"last_seq"`
	Checkpoint string `json:"checkpoint"` // hash of the checkpoint closing the segment
	// MinTime and MaxTime bound the times of its request records, which
	// are arrival times and so not in seq order; both are empty when it
	// holds none.
	MinTime    string   `json:"min_time,omitempty"`
	MaxTime    string   `json:"max_time,omitempty"`
	Tenants    []string `json:"tenants"`
	Operations []string `json:"operations"`
	Statuses   []int    `json:"statuses"`
}

// indexName is the file name, under segments/, of the index of the
// segment starting at seq.
func indexName(seq uint64) string { return fmt.Sprintf("%020d.idx", seq) }

// buildIndex reads segment e and summarises its request records.
func buildIndex(ctx context.Context, dir string, e SegmentInfo) (segmentIndex, error) {
	rc, err := openSearched(dir, e)
	if err != nil {
		return segmentIndex{}, err
	}
	defer rc.Close()
	var minT, maxT time.Time
	tenants, ops, statuses := map[string]bool{}, map[string]bool{}, map[int]bool{}
	err = scanSegment(ctx, rc, segmentHeader{}, func(line []byte) error {
		r, err := decodeLine(line)
		if err != nil {
			return err
		}
		if r.Kind != KindRequest {
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, r.Time)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		if minT.IsZero() || t.Before(minT) {
			minT = t
		}
		if t.After(maxT) {
			maxT = t
		}
		tenants[r.Tenant], ops[r.Operation], statuses[r.Status] = true, true, true
		return nil
	})
	if err != nil {
		return segmentIndex{}, fmt.Errorf("audit: index segment %s: %w", e.File, err)
	}
	x := segmentIndex{
		Index: indexMagic, FirstSeq: e.FirstSeq, LastSeq: e.LastSeq, Checkpoint: checkpointHash(e),
		Tenants: slices.Sorted(maps.Keys(tenants)), Operations: slices.Sorted(maps.Keys(ops)), Statuses: slices.Sorted(maps.Keys(statuses)),
	}
	if !minT.IsZero() {
		x.MinTime, x.MaxTime = formatTime(minT), formatTime(maxT)
	}
	return x, nil
}

// loadIndex returns the stored index of segment e, ok false when there is
// none or it does not describe e.
func loadIndex(dir string, e SegmentInfo) (x segmentIndex, ok bool) {
	b, err := os.ReadFile(filepath.Join(dir, SegmentDir, indexName(e.FirstSeq)))
	if err != nil || json.Unmarshal(b, &x) != nil {
		return x, false
	}
	return x, x.Index == indexMagic && x.FirstSeq == e.FirstSeq && x.LastSeq == e.LastSeq && x.Checkpoint == checkpointHash(e)
}

// indexSegment writes the index of sealed segment e unless a valid one is
// there: after the seal, and for segments sealed before indexes existed.
// The caller holds workMu.
func (s *FileSink) indexSegment(e SegmentInfo) error {
	if s.indexed[e.FirstSeq] {
		return nil
	}
	if s.indexed == nil {
		s.indexed = map[uint64]bool{}
	}
	if _, ok := loadIndex(s.dir, e); ok {
		s.indexed[e.FirstSeq] = true
		return nil
	}
	x, err := buildIndex(context.Background(), s.dir, e)
	if err != nil {
		return err
	}
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Errorf("audit: encode index: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(s.dir, SegmentDir), indexName(e.FirstSeq), append(b, '\n')); err != nil {
		return err
	}
	s.indexed[e.FirstSeq] = true
	return nil
}

// mayMatch reports whether the segment can hold a record that q selects.
func (x *segmentIndex) mayMatch(q *Query) bool {
	if x.MinTime == "" {
		return false // checkpoints only
	}
	minT, err1 := time.Parse(time.RFC3339Nano, x.MinTime)
	maxT, err2 := time.Parse(time.RFC3339Nano, x.MaxTime)
	if err1 != nil || err2 != nil {
		return true
	}
	switch {
	case !q.From.IsZero() && maxT.Before(q.From),
		!q.To.IsZero() && !minT.Before(q.To),
		q.Tenant != "" && !contains(x.Tenants, q.Tenant),
		q.Operation != "" && !contains(x.Operations, q.Operation):
		return false
	}
	return slices.ContainsFunc(x.Statuses, q.Status.match)
}

// contains reports whether the sorted list holds v.
func contains(sorted []string, v string) bool {
	_, ok := slices.BinarySearch(sorted, v)
	return ok
}
