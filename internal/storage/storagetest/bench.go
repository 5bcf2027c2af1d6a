package storagetest

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/mimacrypto/mima/internal/storage"
)

// benchValue is the size of a typical stored record: a sealed key version.
var benchValue = make([]byte, 128)

// BenchmarkPut measures one goroutine putting distinct keys, so for a
// durable backend it is the latency of a single acknowledged write.
func BenchmarkPut(b *testing.B, open func(b *testing.B) storage.Backend) {
	s := open(b)
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := s.Put(ctx, fmt.Sprintf("bench/put/%d", i), benchValue); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkGet measures reads of existing keys from a store of 10,000.
func BenchmarkGet(b *testing.B, open func(b *testing.B) storage.Backend) {
	const n = 10000
	s := open(b)
	ctx := b.Context()
	keys := make([]string, n)
	ops := make([]storage.Op, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench/get/%d", i)
		ops[i] = storage.Op{Key: keys[i], Value: benchValue}
	}
	if err := s.Batch(ctx, ops); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Get(ctx, keys[i%n]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkBatchParallel measures many goroutines each committing batches of
// 8 puts; a backend that group-commits shares its syncs between them. One
// op is one batch.
func BenchmarkBatchParallel(b *testing.B, open func(b *testing.B) storage.Backend) {
	const size = 8
	s := open(b)
	ctx := b.Context()
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		ops := make([]storage.Op, size)
		for pb.Next() {
			n := next.Add(1)
			for j := range ops {
				ops[j] = storage.Op{Key: fmt.Sprintf("bench/batch/%d/%d", n, j), Value: benchValue}
			}
			if err := s.Batch(ctx, ops); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkListPage measures listing a page of 100 keys at a random point of
// a store holding 1,000,000 keys under one prefix; setup is not timed.
func BenchmarkListPage(b *testing.B, open func(b *testing.B) storage.Backend) {
	const (
		n     = 1000000
		chunk = 10000
		page  = 100
	)
	s := open(b)
	ctx := b.Context()
	ops := make([]storage.Op, chunk)
	for i := 0; i < n; i += chunk {
		for j := range ops {
			ops[j] = storage.Op{Key: fmt.Sprintf("bench/list/%08d", i+j), Value: benchValue[:16]}
		}
		if err := s.Batch(ctx, ops); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		after := fmt.Sprintf("bench/list/%08d", (i*7919)%n)
		keys, err := s.List(ctx, "bench/list/", after, page)
		if err != nil {
			b.Fatal(err)
		}
		if len(keys) == 0 || keys[0] <= after {
			b.Fatalf("List after %q returned %q", after, keys)
		}
		i++
	}
}
