package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
)

// Search page sizes.
const (
	DefaultSearchLimit = 100
	MaxSearchLimit     = 1000
)

// Query selects the request records that Search returns; checkpoints are
// never returned. Every set field must match.
type Query struct {
	// From and To bound the record time: From <= time < To. A zero bound
	// is open.
	From, To time.Time
	// Tenant, Operation and Object match exactly; "" matches any.
	Tenant, Operation, Object string
	Status                    Statuses
	// After is the cursor: only records with a greater seq (0 for the
	// start of the chain).
	After uint64
	// Limit is the page size, 1 to MaxSearchLimit; 0 means
	// DefaultSearchLimit.
	Limit int
	// MaxRead, when positive, ends the page after reading that many
	// records past After, however few matched: a bound on the work of one
	// call. Segments that the index rules out are not read.
	MaxRead int
}

// Statuses is an inclusive range of HTTP statuses; the zero value matches
// any record, including one accepted whose outcome follows (status 0).
type Statuses struct{ Min, Max int }

// ParseStatuses reads a status ("404") or a class ("4xx"); "" matches any.
func ParseStatuses(s string) (Statuses, error) {
	if s == "" {
		return Statuses{}, nil
	}
	if len(s) == 3 && s[1:] == "xx" && s[0] >= '1' && s[0] <= '5' {
		c := int(s[0]-'0') * 100
		return Statuses{c, c + 99}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return Statuses{}, fault.New(fault.InvalidArgument, "status must be an HTTP status (404) or class (4xx)")
	}
	return Statuses{n, n}, nil
}

func (s Statuses) match(status int) bool {
	return s == Statuses{} || status >= s.Min && status <= s.Max
}

// SearchLimit returns the page size that a Query.Limit of n stands for,
// refusing one out of range.
func SearchLimit(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultSearchLimit, nil
	case n < 0 || n > MaxSearchLimit:
		return 0, fault.New(fault.InvalidArgument, "the page size must be 1 to %d", MaxSearchLimit)
	}
	return n, nil
}

// SearchPage is one page of the records of one chain that a query selects.
type SearchPage struct {
	Records []*Record
	// Next is the After of the following page, 0 when the chain was read
	// to its end. A page may hold fewer records than the limit, even
	// none, while Next is set: when MaxRead ended it, or when the last
	// match was the last record.
	Next uint64
	// Read is how many records past After the page read.
	Read int
}

// SeqScanner is a Source that can start a scan after a seq, so that a
// search's later pages do not read the chain from its start again.
type SeqScanner interface {
	// ScanAfter is Scan from the record after seq.
	ScanAfter(ctx context.Context, seq uint64, fn func(line []byte) error) error
}

// openSearched opens a sealed segment for a search or for indexing; a
// variable so that tests can count the segments read.
var openSearched = openSegment

// Search returns the first page of the records of src that q selects,
// oldest first. A segmented log skips each sealed segment whose index
// rules it out, without decompressing it. Search reads the records as
// they are: it proves nothing about them, which is Verify's job.
func Search(ctx context.Context, src Source, q Query) (SearchPage, error) {
	s, err := newSearcher(q)
	if err != nil {
		return SearchPage{}, err
	}
	switch src := src.(type) {
	case segmentedSource:
		var l *layout
		if l, err = src.layout(); err == nil {
			err = s.layout(ctx, l)
		}
	case SeqScanner:
		err = src.ScanAfter(ctx, q.After, s.add)
	default:
		err = src.Scan(ctx, s.add)
	}
	return s.finish(err)
}

// SearchDir searches a FileSink directory without opening it for
// writing, or an archive: a directory holding a manifest and its
// segments/ but no audit.log.
func SearchDir(ctx context.Context, dir string, q Query) (SearchPage, error) {
	if _, err := os.Stat(filepath.Join(dir, LogFile)); err == nil {
		return Search(ctx, DirSource(dir), q)
	}
	man, err := readManifest(dir)
	if err != nil {
		return SearchPage{}, err
	}
	if len(man.Segments) == 0 {
		return SearchPage{}, fmt.Errorf("audit: %s holds neither %s nor %s", dir, LogFile, ManifestFile)
	}
	s, err := newSearcher(q)
	if err != nil {
		return SearchPage{}, err
	}
	return s.finish(s.sealed(ctx, dir, man.Segments))
}

// errPageDone ends a scan whose page is complete.
var errPageDone = errors.New("audit: search page done")

// searcher collects one page of matches.
type searcher struct {
	q       Query
	needles [][]byte // byte strings every matching line contains
	last    uint64   // seq of the last record read
	page    SearchPage
}

func newSearcher(q Query) (*searcher, error) {
	var err error
	if q.Limit, err = SearchLimit(q.Limit); err != nil {
		return nil, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return nil, fault.New(fault.InvalidArgument, "from must be before to")
	}
	s := &searcher{q: q, page: SearchPage{Records: []*Record{}}}
	s.needles = append(s.needles, []byte(`"kind":"request",`))
	for _, f := range []struct{ name, value string }{{"tenant", q.Tenant}, {"operation", q.Operation}, {"object", q.Object}} {
		if f.value != "" {
			v, _ := json.Marshal(f.value) // a string: cannot fail
			s.needles = append(s.needles, fmt.Appendf(nil, `"%s":%s,`, f.name, v))
		}
	}
	return s, nil
}

// layout searches the sealed segments and then the active one, and
// closes the view.
func (s *searcher) layout(ctx context.Context, l *layout) error {
	defer l.active.Close()
	if err := s.sealed(ctx, l.dir, l.man.Segments); err != nil {
		return err
	}
	return scanSegment(ctx, l.activeReader(), segmentHeader{}, s.add)
}

// sealed searches sealed segments, skipping those before the cursor and
// those whose index rules them out.
func (s *searcher) sealed(ctx context.Context, dir string, segs []SegmentInfo) error {
	for _, e := range segs {
		if e.LastSeq <= s.q.After {
			continue
		}
		if x, ok := loadIndex(dir, e); ok && !x.mayMatch(&s.q) {
			continue
		}
		rc, err := openSearched(dir, e)
		if err != nil {
			return err
		}
		err = scanSegment(ctx, rc, segmentHeader{}, s.add)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// add considers one stored line. A compact one is decoded at once (that
// costs less than the needles); a JSON one only once it holds them.
func (s *searcher) add(line []byte) error {
	var r *Record
	seq, ok := lineSeq(line)
	if isCompact(line) {
		var err error
		r, err = parseCompact(line)
		if err != nil {
			return fmt.Errorf("record after %d: %w", s.last, err)
		}
		seq, ok = r.Seq, true
	}
	if !ok {
		return fmt.Errorf("%w: the record after %d (run mima audit verify)", ErrNonCanonical, s.last)
	}
	if seq <= s.q.After {
		return nil
	}
	if s.q.MaxRead > 0 && s.page.Read == s.q.MaxRead {
		s.page.Next = s.last
		return errPageDone
	}
	s.page.Read++
	s.last = seq
	if r == nil {
		for _, n := range s.needles {
			if !bytes.Contains(line, n) {
				return nil
			}
		}
		r = new(Record)
		if err := json.Unmarshal(line, r); err != nil {
			return fmt.Errorf("%w: record %d: %w", ErrUnparseable, seq, err)
		}
	}
	t, err := time.Parse(time.RFC3339Nano, r.Time)
	if err != nil {
		return fmt.Errorf("%w: record %d: %w", ErrMalformed, seq, err)
	}
	if !s.matches(r, t) {
		return nil
	}
	s.page.Records = append(s.page.Records, r)
	if len(s.page.Records) == s.q.Limit {
		s.page.Next = seq
		return errPageDone
	}
	return nil
}

// matches checks every condition of the query on a parsed record (the
// needles only pass candidates).
func (s *searcher) matches(r *Record, t time.Time) bool {
	q := &s.q
	return r.Kind == KindRequest &&
		(q.From.IsZero() || !t.Before(q.From)) && (q.To.IsZero() || t.Before(q.To)) &&
		(q.Tenant == "" || r.Tenant == q.Tenant) &&
		(q.Operation == "" || r.Operation == q.Operation) &&
		(q.Object == "" || r.Object == q.Object) &&
		q.Status.match(r.Status)
}

// finish returns the page once the scan has ended with err.
func (s *searcher) finish(err error) (SearchPage, error) {
	if err != nil && !errors.Is(err, errPageDone) {
		return SearchPage{}, fmt.Errorf("audit: search: %w", err)
	}
	return s.page, nil
}

// lineSeq reads the seq of a stored record from the start of its line,
// where the canonical encoding puts it.
func lineSeq(line []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(line, []byte(`{"seq":`))
	if !ok {
		return 0, false
	}
	end := bytes.IndexByte(rest, ',')
	if end < 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(rest[:end]), 10, 64)
	return n, err == nil && n > 0
}
