package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
)

var searchT0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// searchEntries are requests of two tenants over six hours, one an hour,
// in pairs that a FileSink sealing at every checkpoint keeps together.
func searchEntries() []Entry {
	mk := func(h int, tenant, op, object string, status int) Entry {
		return Entry{Time: searchT0.Add(time.Duration(h) * time.Hour), RequestID: fmt.Sprintf("r%d", h),
			Tenant: tenant, Operation: op, Object: object, Status: status, Accessor: "acc"}
	}
	return []Entry{
		mk(0, "acme", "encrypt", "k1", 200),
		mk(1, "acme", "decrypt", "k1", 403),
		mk(2, "zeta", "encrypt", "k1", 200),
		mk(3, "zeta", "keys.create", `a"b,<c>`, 201),
		mk(4, "acme", "encrypt", "k2", 500),
		mk(5, "", "sys.seal", "", 204),
	}
}

// searchDir writes searchEntries into a FileSink that seals a segment
// after every second record, so that each pair is one sealed segment,
// and waits for the segments to be compressed, verified and indexed.
func searchDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := OpenFileSink(dir, WithSegmentMaxBytes(1), WithSinkErrorHandler(func(err error) { t.Error(err) }))
	if err != nil {
		t.Fatal(err)
	}
	l := newLogger(t, s, newKey(t), WithCheckpointEvery(0), WithErrorHandler(func(err error) { t.Error(err) }))
	for _, e := range searchEntries() {
		if err := l.Log(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	s.finishPending()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	man, err := ReadManifest(dir)
	if err != nil || len(man.Segments) != 3 {
		t.Fatalf("%d sealed segments (%v), want 3", len(man.Segments), err)
	}
	return dir
}

// ids returns the request ids of a page.
func ids(p SearchPage) []string {
	out := []string{}
	for _, r := range p.Records {
		out = append(out, r.RequestID)
	}
	return out
}

func TestSearchFilters(t *testing.T) {
	mem := NewMemorySink(0)
	l := newLogger(t, mem, newKey(t), WithCheckpointEvery(2))
	for _, e := range searchEntries() {
		if err := l.Log(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	dir := searchDir(t)
	h := func(n int) time.Time { return searchT0.Add(time.Duration(n) * time.Hour) }
	for _, tc := range []struct {
		name string
		q    Query
		want []string
	}{
		{"everything, no checkpoints", Query{}, []string{"r0", "r1", "r2", "r3", "r4", "r5"}},
		{"tenant", Query{Tenant: "acme"}, []string{"r0", "r1", "r4"}},
		{"operation", Query{Operation: "encrypt"}, []string{"r0", "r2", "r4"}},
		{"object", Query{Object: "k1"}, []string{"r0", "r1", "r2"}},
		{"object with JSON escapes", Query{Object: `a"b,<c>`}, []string{"r3"}},
		{"status", Query{Status: Statuses{403, 403}}, []string{"r1"}},
		{"status class", Query{Status: Statuses{200, 299}}, []string{"r0", "r2", "r3", "r5"}},
		{"from inclusive", Query{From: h(4)}, []string{"r4", "r5"}},
		{"to exclusive", Query{To: h(2)}, []string{"r0", "r1"}},
		{"window", Query{From: h(1), To: h(3)}, []string{"r1", "r2"}},
		{"all at once", Query{Tenant: "acme", Operation: "encrypt", From: h(1), Status: Statuses{500, 599}}, []string{"r4"}},
		{"tenant name is not a prefix", Query{Tenant: "acm"}, []string{}},
		{"nothing", Query{Tenant: "nobody"}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, search := range map[string]func() (SearchPage, error){
				"memory":   func() (SearchPage, error) { return Search(context.Background(), mem, tc.q) },
				"segments": func() (SearchPage, error) { return SearchDir(context.Background(), dir, tc.q) },
			} {
				p, err := search()
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got := ids(p); !slices.Equal(got, tc.want) || p.Next != 0 {
					t.Fatalf("%s: got %v next %d, want %v and no next page", name, got, p.Next, tc.want)
				}
			}
		})
	}
}

func TestSearchRefusesBadQueries(t *testing.T) {
	mem := NewMemorySink(0)
	for _, q := range []Query{
		{Limit: -1},
		{Limit: MaxSearchLimit + 1},
		{From: searchT0, To: searchT0},
	} {
		if _, err := Search(context.Background(), mem, q); fault.CodeOf(err) != fault.InvalidArgument {
			t.Errorf("%+v: %v, want invalid_argument", q, err)
		}
	}
	for _, s := range []string{"4x", "600", "99", "abc", "0xx", "-1"} {
		if _, err := ParseStatuses(s); fault.CodeOf(err) != fault.InvalidArgument {
			t.Errorf("status %q: %v, want invalid_argument", s, err)
		}
	}
	if st, err := ParseStatuses("4xx"); err != nil || st != (Statuses{400, 499}) {
		t.Errorf("4xx: %+v %v", st, err)
	}
}

// TestSearchPages walks every match a page at a time, across sealed
// segments and the active one: each comes once, in order, and a page
// bounded by MaxRead continues where it stopped.
func TestSearchPages(t *testing.T) {
	dir := searchDir(t)
	for _, q := range []Query{{Limit: 2}, {Limit: 1}, {Limit: 5, MaxRead: 1}, {Limit: 2, MaxRead: 3, Tenant: "acme"}} {
		var got []string
		pages := 0
		for {
			p, err := SearchDir(context.Background(), dir, q)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(p.Records) > q.Limit || q.MaxRead > 0 && p.Read > q.MaxRead {
				t.Fatalf("%+v: page of %d records after reading %d", q, len(p.Records), p.Read)
			}
			got = append(got, ids(p)...)
			if p.Next == 0 {
				break
			}
			if p.Next <= q.After || pages > 20 {
				t.Fatalf("%+v: the cursor does not advance: %d after %d", q, p.Next, q.After)
			}
			q.After = p.Next
		}
		want := []string{"r0", "r1", "r2", "r3", "r4", "r5"}
		if q.Tenant != "" {
			want = []string{"r0", "r1", "r4"}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%+v: pages gave %v, want %v", q, got, want)
		}
	}
}

// countOpens counts the sealed segments a search opens, by file.
func countOpens(t *testing.T) map[uint64]int {
	t.Helper()
	opened := map[uint64]int{}
	orig := openSearched
	openSearched = func(dir string, e SegmentInfo) (io.ReadCloser, error) {
		opened[e.FirstSeq]++
		return orig(dir, e)
	}
	t.Cleanup(func() { openSearched = orig })
	return opened
}

// TestSearchSkipsSegmentsByIndex shows that the index written at sealing
// keeps a search from decompressing a segment that cannot match, that a
// stale index is not trusted, and that a missing one is rebuilt.
func TestSearchSkipsSegmentsByIndex(t *testing.T) {
	dir := searchDir(t)
	man, _ := ReadManifest(dir)
	for _, e := range man.Segments {
		if e.Status != StatusCompressed {
			t.Fatalf("segment %s is %s, want compressed", e.File, e.Status)
		}
		if _, ok := loadIndex(dir, e); !ok {
			t.Fatalf("segment %s has no index", e.File)
		}
	}
	// Segments: r0 r1 (acme, hours 0-1), r2 r3 (zeta, 2-3), r4 r5 (4-5).
	first, second, third := man.Segments[0].FirstSeq, man.Segments[1].FirstSeq, man.Segments[2].FirstSeq
	search := func(q Query) (map[uint64]int, []string) {
		t.Helper()
		opened := countOpens(t)
		p, err := SearchDir(context.Background(), dir, q)
		if err != nil {
			t.Fatal(err)
		}
		return opened, ids(p)
	}
	for _, tc := range []struct {
		name string
		q    Query
		open []uint64
		want []string
	}{
		{"tenant", Query{Tenant: "zeta"}, []uint64{second}, []string{"r2", "r3"}},
		{"operation", Query{Operation: "decrypt"}, []uint64{first}, []string{"r1"}},
		{"status", Query{Status: Statuses{500, 599}}, []uint64{third}, []string{"r4"}},
		{"time", Query{From: searchT0.Add(150 * time.Minute), To: searchT0.Add(4 * time.Hour)}, []uint64{second}, []string{"r3"}},
		{"object is not indexed", Query{Object: "k2"}, []uint64{first, second, third}, []string{"r4"}},
		{"cursor", Query{After: man.Segments[1].LastSeq}, []uint64{third}, []string{"r4", "r5"}},
	} {
		opened, got := search(tc.q)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: found %v, want %v", tc.name, got, tc.want)
		}
		if want := len(tc.open); len(opened) != want || slices.ContainsFunc(tc.open, func(s uint64) bool { return opened[s] != 1 }) {
			t.Errorf("%s: opened segments %v, want only %v", tc.name, opened, tc.open)
		}
	}

	// An index that does not name its segment's closing checkpoint (a
	// stale or planted one) is ignored, so the segment is read.
	path := filepath.Join(dir, SegmentDir, indexName(second))
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stale := man.Segments[1]
	stale.Checkpoint = man.Segments[0].Checkpoint
	x, err := buildIndex(context.Background(), dir, stale)
	if err != nil {
		t.Fatal(err)
	}
	x.Tenants = []string{"nobody"}
	writeIndexFile(t, path, x)
	if opened, got := search(Query{Tenant: "zeta"}); opened[second] != 1 || !slices.Equal(got, []string{"r2", "r3"}) {
		t.Fatalf("with a stale index: opened %v, found %v", opened, got)
	}

	// Without its index a segment is read; the sink rebuilds the index
	// when it opens.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if opened, _ := search(Query{Tenant: "acme"}); opened[second] != 1 {
		t.Fatalf("without an index the segment must be read: opened %v", opened)
	}
	s, err := OpenFileSink(dir, WithSinkErrorHandler(func(err error) { t.Error(err) }))
	if err != nil {
		t.Fatal(err)
	}
	s.finishPending()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if rebuilt, err := os.ReadFile(path); err != nil || string(rebuilt) != string(good) {
		t.Fatalf("rebuilt index %q (%v), want %q", rebuilt, err, good)
	}
	if opened, _ := search(Query{Tenant: "acme"}); opened[second] != 0 {
		t.Fatalf("with the rebuilt index the segment must be skipped: opened %v", opened)
	}
}

// TestSearchArchive searches a directory of sealed segments that has no
// active log, and finds the segments of a live sink too.
func TestSearchArchive(t *testing.T) {
	dir := searchDir(t)
	if err := os.Remove(filepath.Join(dir, LogFile)); err != nil {
		t.Fatal(err)
	}
	p, err := SearchDir(context.Background(), dir, Query{Tenant: "acme"})
	if err != nil || !slices.Equal(ids(p), []string{"r0", "r1", "r4"}) {
		t.Fatalf("archive search: %v %v", ids(p), err)
	}
	if _, err := SearchDir(context.Background(), t.TempDir(), Query{}); err == nil {
		t.Fatal("searching an empty directory succeeded")
	}
}

func writeIndexFile(t *testing.T, path string, x segmentIndex) {
	t.Helper()
	b, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkSearch searches a segmented, compressed log of encrypt-like
// records for an object that none has (every segment read; the index
// cannot rule out objects) and for a tenant that none has (every segment
// skipped by its index), and reports the records covered per second.
func BenchmarkSearch(b *testing.B) {
	const n = 100_000
	dir := benchLog(b, n, 4<<20)
	for name, q := range map[string]Query{"read": {Object: "none"}, "skipped": {Tenant: "none"}} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				p, err := SearchDir(context.Background(), dir, q)
				if err != nil || len(p.Records) != 0 {
					b.Fatalf("%d records, %v", len(p.Records), err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
