// Package storagetest is the conformance suite that every storage.Backend
// must pass, plus shared benchmarks. It tests observable behaviour only, so
// any backend (in-memory, bbolt, PostgreSQL) can be held to it.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/mimacrypto/mima/internal/storage"
)

// Run runs the conformance suite against the backends made by open. Each
// subtest calls open once and expects a new, empty backend; open must
// register any cleanup (such as Close) with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) storage.Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Backend)
	}{
		{"GetMissing", testGetMissing},
		{"PutGet", testPutGet},
		{"Overwrite", testOverwrite},
		{"EmptyValue", testEmptyValue},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"Copies", testCopies},
		{"ListPrefix", testListPrefix},
		{"ListOrder", testListOrder},
		{"ListAfter", testListAfter},
		{"ListLimit", testListLimit},
		{"ListPaging", testListPaging},
		{"ListNoMatch", testListNoMatch},
		{"BatchMixed", testBatchMixed},
		{"BatchLaterOpWins", testBatchLaterOpWins},
		{"BatchEmpty", testBatchEmpty},
		{"InvalidKey", testInvalidKey},
		{"InvalidBatch", testInvalidBatch},
		{"CancelledContext", testCancelledContext},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range append(tests, swapTests...) {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func mustPut(t *testing.T, s storage.Backend, key string, value []byte) {
	t.Helper()
	if err := s.Put(t.Context(), key, value); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustBatch(t *testing.T, s storage.Backend, ops []storage.Op) {
	t.Helper()
	if err := s.Batch(t.Context(), ops); err != nil {
		t.Fatalf("Batch: %v", err)
	}
}

// putAll stores every key with its own name as value, in one batch.
func putAll(t *testing.T, s storage.Backend, keys []string) {
	t.Helper()
	ops := make([]storage.Op, len(keys))
	for i, k := range keys {
		ops[i] = storage.Op{Key: k, Value: []byte(k)}
	}
	mustBatch(t, s, ops)
}

func expectValue(t *testing.T, s storage.Backend, key string, want []byte) {
	t.Helper()
	got, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

func expectMissing(t *testing.T, s storage.Backend, key string) {
	t.Helper()
	got, err := s.Get(t.Context(), key)
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, got, err)
	}
	if got != nil {
		t.Fatalf("Get(%q) returned value %q along with ErrNotFound", key, got)
	}
}

func expectList(t *testing.T, s storage.Backend, prefix, after string, limit int, want []string) {
	t.Helper()
	got, err := s.List(t.Context(), prefix, after, limit)
	if err != nil {
		t.Fatalf("List(%q, %q, %d): %v", prefix, after, limit, err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("List(%q, %q, %d) = %q, want %q", prefix, after, limit, got, want)
	}
}

func testGetMissing(t *testing.T, s storage.Backend) {
	expectMissing(t, s, "missing")
	mustPut(t, s, "present", []byte("v"))
	expectMissing(t, s, "missing")
	expectMissing(t, s, "presen")
	expectMissing(t, s, "present/child")
}

func testPutGet(t *testing.T, s storage.Backend) {
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	values := map[string][]byte{
		"a":                   []byte("alpha"),
		"keys/sm4/1":          []byte("one"),
		"keys/sm4/1/versions": binary,
		"密钥/é":                []byte("unicode"),
		"big":                 bytes.Repeat([]byte{0xa5}, 1<<20),
	}
	for k, v := range values {
		mustPut(t, s, k, v)
	}
	for k, v := range values {
		expectValue(t, s, k, v)
	}
}

func testOverwrite(t *testing.T, s storage.Backend) {
	mustPut(t, s, "k", []byte("first value"))
	mustPut(t, s, "k", []byte("second"))
	expectValue(t, s, "k", []byte("second"))
	mustPut(t, s, "k", []byte("a much longer third value"))
	expectValue(t, s, "k", []byte("a much longer third value"))
	expectList(t, s, "", "", 0, []string{"k"})
}

func testEmptyValue(t *testing.T, s storage.Backend) {
	mustPut(t, s, "empty", []byte{})
	mustPut(t, s, "nil", nil)
	mustBatch(t, s, []storage.Op{{Key: "batch-empty", Value: []byte{}}})
	for _, k := range []string{"empty", "nil", "batch-empty"} {
		got, err := s.Get(t.Context(), k)
		if err != nil {
			t.Fatalf("Get(%q) of empty value: %v", k, err)
		}
		if len(got) != 0 {
			t.Fatalf("Get(%q) = %q, want empty", k, got)
		}
	}
	expectMissing(t, s, "missing")
	expectList(t, s, "", "", 0, []string{"batch-empty", "empty", "nil"})
	mustPut(t, s, "empty", []byte("now set"))
	expectValue(t, s, "empty", []byte("now set"))
}

func testDelete(t *testing.T, s storage.Backend) {
	mustPut(t, s, "a", []byte("1"))
	mustPut(t, s, "b", []byte("2"))
	if err := s.Delete(t.Context(), "a"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	expectMissing(t, s, "a")
	expectValue(t, s, "b", []byte("2"))
	expectList(t, s, "", "", 0, []string{"b"})
	mustPut(t, s, "a", []byte("again"))
	expectValue(t, s, "a", []byte("again"))
}

func testDeleteMissing(t *testing.T, s storage.Backend) {
	if err := s.Delete(t.Context(), "never-written"); err != nil {
		t.Fatalf("Delete of missing key: %v", err)
	}
	mustPut(t, s, "k", []byte("v"))
	for i := range 2 {
		if err := s.Delete(t.Context(), "k"); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	expectMissing(t, s, "k")
}

func testCopies(t *testing.T, s storage.Backend) {
	in := []byte("original")
	mustPut(t, s, "put", in)
	copy(in, "XXXXXXXX")
	expectValue(t, s, "put", []byte("original"))

	op := storage.Op{Key: "batch", Value: []byte("original")}
	mustBatch(t, s, []storage.Op{op})
	copy(op.Value, "XXXXXXXX")
	expectValue(t, s, "batch", []byte("original"))

	out, err := s.Get(t.Context(), "put")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	full := out[:cap(out)] // also covers spare capacity shared with the store
	for i := range full {
		full[i] = 'Y'
	}
	expectValue(t, s, "put", []byte("original"))
}

func testListPrefix(t *testing.T, s storage.Backend) {
	putAll(t, s, []string{"a", "a/1", "a/2", "a/2/x", "ab", "b/1", "b/2", "c", "é/1", "é/2", "éa"})
	expectList(t, s, "a/", "", 0, []string{"a/1", "a/2", "a/2/x"})
	expectList(t, s, "a", "", 0, []string{"a", "a/1", "a/2", "a/2/x", "ab"})
	expectList(t, s, "a/2", "", 0, []string{"a/2", "a/2/x"})
	expectList(t, s, "b/", "", 0, []string{"b/1", "b/2"})
	expectList(t, s, "c", "", 0, []string{"c"})
	expectList(t, s, "é/", "", 0, []string{"é/1", "é/2"})
	expectList(t, s, "é", "", 0, []string{"é/1", "é/2", "éa"})
	expectList(t, s, "", "", 0, []string{"a", "a/1", "a/2", "a/2/x", "ab", "b/1", "b/2", "c", "é/1", "é/2", "éa"})
}

// orderKeys differ in ways that expose non-byte orderings: case, separators
// ('-' < '.' < '/' < '0'), a key that is a prefix of others, and code points
// whose UTF-8 order differs from their UTF-16 order (U+FFFD vs U+1F600).
var orderKeys = []string{
	"A", "Z", "a", "a-b", "a.b", "a/b", "a0", "a/", "a//", "z",
	"é", "éé", "\u00ff", "\u0100", "\ufffd", "\U0001F600", "密钥", "密钥/1",
	"~", "k 1", "k\t1",
}

func sortedCopy(keys []string) []string {
	s := slices.Clone(keys)
	slices.Sort(s) // Go compares strings byte-wise.
	return s
}

func testListOrder(t *testing.T, s storage.Backend) {
	shuffled := slices.Clone(orderKeys)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, k := range shuffled {
		mustPut(t, s, k, []byte(k))
	}
	want := sortedCopy(orderKeys)
	if want[len(want)-1] != "\U0001F600" || !slices.Contains(want[:len(want)-1], "\ufffd") {
		t.Fatalf("test keys are not in the expected byte order: %q", want)
	}
	expectList(t, s, "", "", 0, want)
	for _, k := range orderKeys {
		expectValue(t, s, k, []byte(k))
	}
}

func testListAfter(t *testing.T, s storage.Backend) {
	putAll(t, s, []string{"a", "a/1", "a/2", "a/3", "b/1", "b/2"})
	// after is an existing key: it is excluded.
	expectList(t, s, "a/", "a/1", 0, []string{"a/2", "a/3"})
	// after falls between keys.
	expectList(t, s, "a/", "a/15", 0, []string{"a/2", "a/3"})
	// after sorts before the prefix: all prefix keys.
	expectList(t, s, "b/", "a/9", 0, []string{"b/1", "b/2"})
	// after equals the prefix, which is itself a key.
	expectList(t, s, "a", "a", 0, []string{"a/1", "a/2", "a/3"})
	// after is a proper prefix of keys: those keys sort after it.
	expectList(t, s, "", "a/", 0, []string{"a/1", "a/2", "a/3", "b/1", "b/2"})
	// after is the last matching key, or beyond the prefix range.
	expectList(t, s, "a/", "a/3", 0, nil)
	expectList(t, s, "a/", "b", 0, nil)
	expectList(t, s, "", "zzz", 0, nil)
	// after combined with limit.
	expectList(t, s, "", "a/1", 2, []string{"a/2", "a/3"})
}

func testListLimit(t *testing.T, s storage.Backend) {
	keys := []string{"k/1", "k/2", "k/3", "k/4"}
	putAll(t, s, keys)
	expectList(t, s, "k/", "", 1, keys[:1])
	expectList(t, s, "k/", "", 3, keys[:3])
	expectList(t, s, "k/", "", 4, keys)
	expectList(t, s, "k/", "", 100, keys)
	expectList(t, s, "k/", "", 0, keys)
	expectList(t, s, "k/", "", -1, keys)
}

func testListPaging(t *testing.T, s storage.Backend) {
	var keys []string
	for i := range 1000 {
		keys = append(keys, fmt.Sprintf("page/%x", i))
	}
	putAll(t, s, append(slices.Clone(keys), "pag", "pagf", "paz", "other/1"))
	want := sortedCopy(keys)
	for _, limit := range []int{1, 7, 100, 999, 1000, 1001} {
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > len(keys)+1 {
				t.Fatalf("limit %d: paging does not terminate", limit)
			}
			page, err := s.List(t.Context(), "page/", after, limit)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(page) > limit {
				t.Fatalf("List(limit %d) returned %d keys", limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1]
		}
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d: paged %d keys, want %d in order", limit, len(got), len(want))
		}
	}
}

func testListNoMatch(t *testing.T, s storage.Backend) {
	expectList(t, s, "", "", 0, nil)
	expectList(t, s, "x/", "", 10, nil)
	putAll(t, s, []string{"a/1", "b/1"})
	expectList(t, s, "x/", "", 0, nil)
	expectList(t, s, "a/1/", "", 0, nil)
	expectList(t, s, "a0", "", 0, nil)
	expectList(t, s, "0", "", 0, nil)
}

func testBatchMixed(t *testing.T, s storage.Backend) {
	putAll(t, s, []string{"keep", "old1", "old2", "replace"})
	mustBatch(t, s, []storage.Op{
		{Key: "new1", Value: []byte("n1")},
		{Key: "old1", Delete: true},
		{Key: "replace", Value: []byte("replaced")},
		{Key: "old2", Delete: true, Value: []byte("ignored")},
		{Key: "absent", Delete: true},
		{Key: "new2", Value: []byte("n2")},
	})
	expectValue(t, s, "new1", []byte("n1"))
	expectValue(t, s, "new2", []byte("n2"))
	expectValue(t, s, "replace", []byte("replaced"))
	expectValue(t, s, "keep", []byte("keep"))
	expectMissing(t, s, "old1")
	expectMissing(t, s, "old2")
	expectMissing(t, s, "absent")
	expectList(t, s, "", "", 0, []string{"keep", "new1", "new2", "replace"})
}

func testBatchLaterOpWins(t *testing.T, s storage.Backend) {
	mustPut(t, s, "put-del-put", []byte("old"))
	mustBatch(t, s, []storage.Op{
		{Key: "put-put", Value: []byte("1")},
		{Key: "put-put", Value: []byte("2")},
		{Key: "put-del", Value: []byte("1")},
		{Key: "put-del", Delete: true},
		{Key: "del-put", Delete: true},
		{Key: "del-put", Value: []byte("2")},
		{Key: "put-del-put", Delete: true},
		{Key: "put-del-put", Value: []byte("new")},
	})
	expectValue(t, s, "put-put", []byte("2"))
	expectMissing(t, s, "put-del")
	expectValue(t, s, "del-put", []byte("2"))
	expectValue(t, s, "put-del-put", []byte("new"))
}

func testBatchEmpty(t *testing.T, s storage.Backend) {
	mustPut(t, s, "k", []byte("v"))
	mustBatch(t, s, nil)
	mustBatch(t, s, []storage.Op{})
	expectValue(t, s, "k", []byte("v"))
	expectList(t, s, "", "", 0, []string{"k"})
}

var invalidKeys = []string{"", "\xff", "a/\xc3"}

func testInvalidKey(t *testing.T, s storage.Backend) {
	ctx := t.Context()
	mustPut(t, s, "valid", []byte("v"))
	for _, k := range invalidKeys {
		if err := s.Put(ctx, k, []byte("x")); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", k, err)
		}
		if err := s.Delete(ctx, k); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey", k, err)
		}
		if v, err := s.Get(ctx, k); err == nil || v != nil {
			t.Errorf("Get(%q) = %q, %v; want an error", k, v, err)
		}
	}
	expectList(t, s, "", "", 0, []string{"valid"})
}

func testInvalidBatch(t *testing.T, s storage.Backend) {
	putAll(t, s, []string{"existing", "doomed"})
	for _, bad := range invalidKeys {
		for _, badOp := range []storage.Op{{Key: bad, Value: []byte("x")}, {Key: bad, Delete: true}} {
			err := s.Batch(t.Context(), []storage.Op{
				{Key: "new", Value: []byte("n")},
				{Key: "existing", Value: []byte("changed")},
				{Key: "doomed", Delete: true},
				badOp,
				{Key: "after", Value: []byte("a")},
			})
			if !errors.Is(err, storage.ErrInvalidKey) {
				t.Fatalf("Batch with key %q (delete %v) = %v, want ErrInvalidKey", bad, badOp.Delete, err)
			}
		}
	}
	expectMissing(t, s, "new")
	expectMissing(t, s, "after")
	expectValue(t, s, "existing", []byte("existing"))
	expectValue(t, s, "doomed", []byte("doomed"))
	expectList(t, s, "", "", 0, []string{"doomed", "existing"})
}

func testCancelledContext(t *testing.T, s storage.Backend) {
	mustPut(t, s, "existing", []byte("v"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	if err := s.Put(ctx, "new", []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with cancelled context = %v, want context.Canceled", err)
	}
	if err := s.Put(ctx, "existing", []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put over existing with cancelled context = %v, want context.Canceled", err)
	}
	if err := s.Delete(ctx, "existing"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with cancelled context = %v, want context.Canceled", err)
	}
	err := s.Batch(ctx, []storage.Op{{Key: "batch", Value: []byte("x")}, {Key: "existing", Delete: true}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Batch with cancelled context = %v, want context.Canceled", err)
	}
	if v, err := s.Get(ctx, "existing"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with cancelled context = %q, %v; want context.Canceled", v, err)
	}
	if keys, err := s.List(ctx, "", "", 0); !errors.Is(err, context.Canceled) {
		t.Errorf("List with cancelled context = %q, %v; want context.Canceled", keys, err)
	}

	expectValue(t, s, "existing", []byte("v"))
	expectMissing(t, s, "new")
	expectMissing(t, s, "batch")
	expectList(t, s, "", "", 0, []string{"existing"})
}

// testConcurrent runs writers of distinct keys, writers contending on shared
// keys, batch writers, and readers all at once, then checks that every
// acknowledged write is visible. Run it with -race.
func testConcurrent(t *testing.T, s storage.Backend) {
	const (
		writers = 16
		perG    = 25
		shared  = 3
	)
	ctx := t.Context()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		written = make(map[string][][]byte) // shared key -> acknowledged values
	)
	for g := range writers {
		wg.Go(func() {
			for i := range perG {
				key := fmt.Sprintf("distinct/%02d/%03d", g, i)
				if err := s.Put(ctx, key, []byte(key)); err != nil {
					t.Errorf("Put(%q): %v", key, err)
					return
				}
				skey := fmt.Sprintf("shared/%d", i%shared)
				sval := fmt.Appendf(nil, "%d/%d", g, i)
				if err := s.Put(ctx, skey, sval); err != nil {
					t.Errorf("Put(%q): %v", skey, err)
					return
				}
				mu.Lock()
				written[skey] = append(written[skey], sval)
				mu.Unlock()
			}
		})
		wg.Go(func() {
			for i := range perG {
				a := fmt.Sprintf("batch/%02d/%03d/a", g, i)
				b := fmt.Sprintf("batch/%02d/%03d/b", g, i)
				err := s.Batch(ctx, []storage.Op{
					{Key: a, Value: []byte(a)},
					{Key: b, Value: []byte(b)},
					{Key: fmt.Sprintf("batch/%02d/%03d/tmp", g, i), Value: []byte("tmp")},
					{Key: fmt.Sprintf("batch/%02d/%03d/tmp", g, i), Delete: true},
				})
				if err != nil {
					t.Errorf("Batch: %v", err)
					return
				}
			}
		})
		wg.Go(func() {
			for i := range perG {
				key := fmt.Sprintf("distinct/%02d/%03d", (g+1)%writers, i)
				if v, err := s.Get(ctx, key); err == nil && string(v) != key {
					t.Errorf("Get(%q) = %q during writes", key, v)
				} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("Get(%q): %v", key, err)
				}
				if _, err := s.List(ctx, "distinct/", "", 10); err != nil {
					t.Errorf("List: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	for g := range writers {
		for i := range perG {
			key := fmt.Sprintf("distinct/%02d/%03d", g, i)
			expectValue(t, s, key, []byte(key))
			for _, suffix := range []string{"a", "b"} {
				key := fmt.Sprintf("batch/%02d/%03d/%s", g, i, suffix)
				expectValue(t, s, key, []byte(key))
			}
		}
	}
	if len(written) != shared {
		t.Fatalf("recorded %d shared keys, want %d", len(written), shared)
	}
	for skey, vals := range written {
		got, err := s.Get(ctx, skey)
		if err != nil {
			t.Fatalf("Get(%q): %v", skey, err)
		}
		if !slices.ContainsFunc(vals, func(v []byte) bool { return bytes.Equal(v, got) }) {
			t.Fatalf("Get(%q) = %q, which no writer wrote", skey, got)
		}
	}
	for prefix, want := range map[string]int{"distinct/": writers * perG, "batch/": 2 * writers * perG, "shared/": shared} {
		keys, err := s.List(ctx, prefix, "", 0)
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		if len(keys) != want || !slices.IsSorted(keys) {
			t.Fatalf("List(%q) returned %d keys (sorted: %v), want %d sorted", prefix, len(keys), slices.IsSorted(keys), want)
		}
	}
}
