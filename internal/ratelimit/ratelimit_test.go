package ratelimit

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/clocktest"
)

// TestBucket checks the burst, the refusal with its wait, the refill and
// that keys do not share a bucket.
func TestBucket(t *testing.T) {
	clk := clocktest.New(time.Unix(1_000_000, 0))
	l := New(2, 3, WithClock(clk.Now))
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if ok, wait := l.Allow("a"); ok || wait != 500*time.Millisecond {
		t.Errorf("past the burst: %v, wait %v; want refused, 500ms", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Error("another key was refused")
	}
	clk.Advance(250 * time.Millisecond)
	if ok, wait := l.Allow("a"); ok || wait != 250*time.Millisecond {
		t.Errorf("half a token later: %v, wait %v; want refused, 250ms", ok, wait)
	}
	clk.Advance(250 * time.Millisecond)
	if ok, _ := l.Allow("a"); !ok {
		t.Error("a token later: refused")
	}
	clk.Advance(time.Hour)
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("after an hour, request %d refused: the bucket did not refill to its burst", i+1)
		}
	}
	if ok, _ := l.Allow("a"); ok {
		t.Error("the bucket refilled beyond its burst")
	}
	clk.Advance(-time.Hour)
	if ok, _ := l.Allow("a"); ok {
		t.Error("a clock that went back refilled the bucket")
	}
}

// TestBoundedMemory checks that a flood of keys keeps at most maxKeys
// buckets, never refuses a new key, and drops refilled buckets before
// those of clients that are still limited.
func TestBoundedMemory(t *testing.T) {
	clk := clocktest.New(time.Unix(1_000_000, 0))
	l := New(1, 2, WithClock(clk.Now), WithMaxKeys(64))
	for i := range 1000 {
		if ok, _ := l.Allow(fmt.Sprint("new", i)); !ok {
			t.Fatalf("new key %d refused", i)
		}
		l.Allow("busy")
		l.Allow("busy")
		if l.Len() > 64 {
			t.Fatalf("%d buckets kept, want at most 64", l.Len())
		}
		clk.Advance(time.Second) // refills every new key's bucket, half of busy's
	}
	if ok, _ := l.Allow("busy"); !ok {
		t.Fatal("busy's half-refilled bucket refused")
	}
	if ok, _ := l.Allow("busy"); ok {
		t.Error("busy's used bucket was dropped while full ones were kept")
	}
	// With no full bucket, arbitrary ones make room.
	l = New(1, 1, WithClock(clk.Now), WithMaxKeys(64))
	for i := range 1000 {
		if ok, _ := l.Allow(fmt.Sprint("new", i)); !ok {
			t.Fatalf("new key %d refused", i)
		}
	}
	if l.Len() > 64 {
		t.Errorf("%d buckets kept, want at most 64", l.Len())
	}
}

// TestConcurrent checks that concurrent callers of one key share its
// burst exactly (run with -race).
func TestConcurrent(t *testing.T) {
	clk := clocktest.New(time.Unix(1_000_000, 0))
	l := New(1, 100, WithClock(clk.Now))
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if ok, _ := l.Allow("k"); ok {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 100 {
		t.Errorf("%d of 400 requests allowed, want the burst of 100", allowed.Load())
	}
}
