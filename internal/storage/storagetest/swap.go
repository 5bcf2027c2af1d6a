package storagetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/mimacrypto/mima/internal/storage"
)

// swapTests are the compare-and-swap cases of the suite.
var swapTests = []struct {
	name string
	fn   func(t *testing.T, s storage.Backend)
}{
	{"SwapConditions", testSwapConditions},
	{"SwapConcurrentCounter", testSwapConcurrentCounter},
	{"SwapConcurrentClaim", testSwapConcurrentClaim},
	{"AtomicReadsOwnWrites", testAtomicReadsOwnWrites},
	{"AtomicAssumesAbsence", testAtomicAssumesAbsence},
}

// testSwapConditions: a Swap applies its ops only when every condition
// holds, and a failed one changes nothing and wraps ErrConflict.
func testSwapConditions(t *testing.T, s storage.Backend) {
	ctx := t.Context()
	mustPut(t, s, "a", []byte("1"))
	mustPut(t, s, "empty", []byte{})
	ops := []storage.Op{{Key: "a", Value: []byte("2")}, {Key: "b", Value: []byte("new")}}
	for _, conds := range [][]storage.Cond{
		{{Key: "a", Value: []byte("0")}},
		{{Key: "a", Absent: true}},
		{{Key: "missing", Value: []byte{}}},
		{{Key: "empty", Absent: true}},
		{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("x")}},
	} {
		if err := s.Swap(ctx, conds, ops); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("Swap(%+v) = %v, want ErrConflict", conds, err)
		}
		expectValue(t, s, "a", []byte("1"))
		expectMissing(t, s, "b")
	}
	conds := []storage.Cond{{Key: "a", Value: []byte("1")}, {Key: "b", Absent: true}, {Key: "empty", Value: []byte{}}, {Key: "other", Absent: true}}
	if err := s.Swap(ctx, conds, ops); err != nil {
		t.Fatalf("Swap with holding conditions: %v", err)
	}
	expectValue(t, s, "a", []byte("2"))
	expectValue(t, s, "b", []byte("new"))
	expectMissing(t, s, "other")
	if err := s.Swap(ctx, []storage.Cond{{Key: "", Absent: true}}, nil); !errors.Is(err, storage.ErrInvalidKey) {
		t.Fatalf("Swap with an empty condition key = %v, want ErrInvalidKey", err)
	}
}

// testSwapConcurrentCounter: writers increment one counter with
// storage.Atomic; no increment is lost.
func testSwapConcurrentCounter(t *testing.T, s storage.Backend) {
	const writers, perG = 8, 20
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range perG {
				err := storage.Atomic(ctx, s, func(tx storage.Backend) error {
					n := 0
					v, err := tx.Get(ctx, "counter")
					if err == nil {
						n, err = strconv.Atoi(string(v))
					}
					if err != nil && !errors.Is(err, storage.ErrNotFound) {
						return err
					}
					return tx.Batch(ctx, []storage.Op{
						{Key: "counter", Value: strconv.AppendInt(nil, int64(n+1), 10)},
						{Key: fmt.Sprintf("log/%d/%d", g, i), Value: strconv.AppendInt(nil, int64(n+1), 10)},
					})
				})
				if err != nil {
					t.Errorf("Atomic increment: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	expectValue(t, s, "counter", []byte(strconv.Itoa(writers*perG)))
	seen := map[string]bool{}
	keys, err := s.List(ctx, "log/", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		v, err := s.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(v)] {
			t.Fatalf("two increments both read the counter as %s", v)
		}
		seen[string(v)] = true
	}
	if len(seen) != writers*perG {
		t.Fatalf("%d increments logged, want %d", len(seen), writers*perG)
	}
}

// testSwapConcurrentClaim: of writers that claim one absent key at once,
// exactly one wins and every other gets ErrConflict.
func testSwapConcurrentClaim(t *testing.T, s storage.Backend) {
	const writers = 16
	ctx := t.Context()
	for round := range 5 {
		key := fmt.Sprintf("claim/%d", round)
		wins := race(t, writers, storage.ErrConflict, func(g int) error {
			return s.Swap(ctx, []storage.Cond{{Key: key, Absent: true}}, []storage.Op{{Key: key, Value: []byte(strconv.Itoa(g))}})
		})
		if len(wins) != 1 {
			t.Fatalf("round %d: %d writers claimed %s, want 1", round, len(wins), key)
		}
		expectValue(t, s, key, []byte(strconv.Itoa(wins[0])))
	}
}

// testAtomicReadsOwnWrites: inside Atomic, reads see the transaction's own
// held-back writes, and nothing reaches the store when fn fails.
func testAtomicReadsOwnWrites(t *testing.T, s storage.Backend) {
	ctx := t.Context()
	mustPut(t, s, "gone", []byte("x"))
	boom := errors.New("boom")
	err := storage.Atomic(ctx, s, func(tx storage.Backend) error {
		if err := tx.Put(ctx, "k", []byte("v")); err != nil {
			return err
		}
		if err := tx.Delete(ctx, "gone"); err != nil {
			return err
		}
		if v, err := tx.Get(ctx, "k"); err != nil || string(v) != "v" {
			t.Errorf("Get of a held-back put = %q, %v", v, err)
		}
		if _, err := tx.Get(ctx, "gone"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get of a held-back delete = %v, want ErrNotFound", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Atomic = %v, want fn's error", err)
	}
	expectMissing(t, s, "k")
	expectValue(t, s, "gone", []byte("x"))
}

// testAtomicAssumesAbsence: storage.Absent in Atomic does not read on the
// first run, yet of creators racing for one name exactly one creates it,
// and every other, run again on a read, finds it taken.
func testAtomicAssumesAbsence(t *testing.T, s storage.Backend) {
	const creators = 8
	ctx := t.Context()
	errTaken := errors.New("taken")
	create := func(st storage.Backend, name, value string) error {
		return storage.Atomic(ctx, st, func(tx storage.Backend) error {
			free, err := storage.Absent(ctx, tx, "names/"+name)
			if err != nil {
				return err
			}
			if !free {
				return errTaken
			}
			return tx.Batch(ctx, []storage.Op{{Key: "names/" + name, Value: []byte(value)}, {Key: "objects/" + value, Value: []byte(name)}})
		})
	}
	counted := &countingGets{Backend: s}
	if err := create(counted, "first", "0"); err != nil {
		t.Fatalf("creating a new name: %v", err)
	}
	if counted.gets != 0 {
		t.Errorf("creating a new name read %d entries, want none", counted.gets)
	}
	if err := create(counted, "first", "1"); !errors.Is(err, errTaken) {
		t.Fatalf("creating a taken name = %v, want the function's refusal", err)
	}
	expectMissing(t, s, "objects/1")
	wins := race(t, creators, errTaken, func(g int) error { return create(s, "raced", "r"+strconv.Itoa(g)) })
	if len(wins) != 1 {
		t.Fatalf("%d creators created one name, want 1", len(wins))
	}
	expectValue(t, s, "names/raced", []byte("r"+strconv.Itoa(wins[0])))
	for g := range creators {
		if g != wins[0] {
			expectMissing(t, s, "objects/r"+strconv.Itoa(g))
		}
	}
}

// countingGets counts the Gets made through it.
type countingGets struct {
	storage.Backend
	mu   sync.Mutex
	gets int
}

func (c *countingGets) Get(ctx context.Context, key string) ([]byte, error) {
	c.mu.Lock()
	c.gets++
	c.mu.Unlock()
	return c.Backend.Get(ctx, key)
}

// race runs fn(g) for g from 0 to n-1 at once and returns the g whose fn
// succeeded; fn may only otherwise fail with lost.
func race(t *testing.T, n int, lost error, fn func(g int) error) []int {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins []int
	)
	for g := range n {
		wg.Go(func() {
			err := fn(g)
			switch {
			case err == nil:
				mu.Lock()
				wins = append(wins, g)
				mu.Unlock()
			case !errors.Is(err, lost):
				t.Errorf("writer %d: %v", g, err)
			}
		})
	}
	wg.Wait()
	return wins
}
