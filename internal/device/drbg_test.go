package device_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
)

// countingReader counts the entropy bytes a DRBG takes.
type countingReader struct{ n atomic.Int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return rand.Read(p)
}

func TestDRBGReadsAreFreshAndFull(t *testing.T) {
	d := device.NewDRBG(nil)
	seen := map[string]bool{}
	for _, n := range []int{1, 12, 31, 32, 33, 255, 256, 257, 4096, 1 << 20} {
		p := make([]byte, n)
		if got, err := d.Read(p); err != nil || got != n {
			t.Fatalf("Read(%d) = %d, %v", n, got, err)
		}
		if n >= 12 {
			if seen[string(p[:12])] {
				t.Fatalf("Read(%d) repeated earlier output", n)
			}
			seen[string(p[:12])] = true
		}
		if n >= 32 && bytes.Count(p, []byte{0}) > n/8 {
			t.Fatalf("Read(%d) is mostly zero", n)
		}
	}
}

func TestDRBGReseedsFromEntropy(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	src := &countingReader{}
	d := device.NewDRBG(src)
	if _, err := d.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	instantiated := src.n.Load()
	// Level two reseeds after 2^10 generate calls of 32 bytes each.
	if _, err := io.ReadFull(d, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	if src.n.Load() <= instantiated {
		t.Fatalf("no reseed: %d entropy bytes after instantiation, %d after 64 KiB", instantiated, src.n.Load())
	}
}

func TestDRBGEntropyFailure(t *testing.T) {
	broken := errors.New("no entropy")
	d := device.NewDRBG(failingReader{broken})
	if _, err := d.Read(make([]byte, 12)); !errors.Is(err, broken) {
		t.Fatalf("Read = %v, want the entropy error", err)
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestDRBGConcurrent(t *testing.T) {
	d := device.NewDRBG(nil)
	var mu sync.Mutex
	seen := map[[16]byte]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				var b [16]byte
				if _, err := d.Read(b[:]); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[b] {
					t.Error("duplicate output")
				}
				seen[b] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 1600 {
		t.Fatalf("%d distinct outputs, want 1600", len(seen))
	}
}

func BenchmarkDRBG(b *testing.B) {
	for _, n := range []int{12, 32, 1024} {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			d := device.NewDRBG(nil)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, n)
				for pb.Next() {
					if _, err := d.Read(buf); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
