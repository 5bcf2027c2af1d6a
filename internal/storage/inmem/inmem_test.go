package inmem

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T) storage.Backend { return New() })
}

// TestAgainstModel drives the skip list with random puts, deletes and
// batches over a small key space, and after each step compares Get and List
// with a plain map sorted on demand.
func TestAgainstModel(t *testing.T) {
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	b := New()
	model := make(map[string]string)
	key := func() string { return fmt.Sprintf("%c/%d", 'a'+rng.IntN(3), rng.IntN(40)) }
	for step := range 5000 {
		switch k := key(); rng.IntN(4) {
		case 0, 1:
			v := fmt.Sprint(step)
			if err := b.Put(ctx, k, []byte(v)); err != nil {
				t.Fatal(err)
			}
			model[k] = v
		case 2:
			if err := b.Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
			delete(model, k)
		case 3:
			k2 := key()
			v := fmt.Sprint(step)
			if err := b.Batch(ctx, []storage.Op{{Key: k, Delete: true}, {Key: k2, Value: []byte(v)}}); err != nil {
				t.Fatal(err)
			}
			delete(model, k)
			model[k2] = v
		}

		k := key()
		got, err := b.Get(ctx, k)
		if want, ok := model[k]; ok != (err == nil) || string(got) != want {
			t.Fatalf("step %d: Get(%q) = %q, %v; model has %q, %v", step, k, got, err, want, ok)
		}
		prefix := []string{"", "a", "b/", "c/1"}[rng.IntN(4)]
		after := []string{"", key(), prefix}[rng.IntN(3)]
		limit := rng.IntN(10) - 2
		var want []string
		for k := range model {
			if strings.HasPrefix(k, prefix) && k > after {
				want = append(want, k)
			}
		}
		slices.Sort(want)
		if limit > 0 && len(want) > limit {
			want = want[:limit]
		}
		keys, err := b.List(ctx, prefix, after, limit)
		if err != nil || !slices.Equal(keys, want) {
			t.Fatalf("step %d: List(%q, %q, %d) = %q, %v; want %q", step, prefix, after, limit, keys, err, want)
		}
	}
	if len(b.index) != len(model) {
		t.Fatalf("index has %d keys, model %d", len(b.index), len(model))
	}
	n := 0
	for x := b.head.next[0]; x != nil; x = x.next[0] {
		n++
	}
	if n != len(model) {
		t.Fatalf("skip list has %d nodes, model %d", n, len(model))
	}
}

func open(*testing.B) storage.Backend { return New() }

func BenchmarkPut(b *testing.B)           { storagetest.BenchmarkPut(b, open) }
func BenchmarkGet(b *testing.B)           { storagetest.BenchmarkGet(b, open) }
func BenchmarkBatchParallel(b *testing.B) { storagetest.BenchmarkBatchParallel(b, open) }
func BenchmarkListPage(b *testing.B)      { storagetest.BenchmarkListPage(b, open) }
