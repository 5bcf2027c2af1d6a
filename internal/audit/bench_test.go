package audit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/mimacrypto/mima/internal/syslogtest"
)

// BenchmarkLogParallel measures Log throughput with many concurrent callers;
// with FileSink the group commit spreads one fsync over many records.
func BenchmarkLogParallel(b *testing.B) {
	sinks := map[string]func(b *testing.B) Sink{
		"memory": func(*testing.B) Sink { return NewMemorySink(0) },
		"file": func(b *testing.B) Sink {
			s, err := OpenFileSink(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		},
	}
	for name, open := range sinks {
		b.Run(name, func(b *testing.B) {
			l := newLogger(b, open(b), newKey(b))
			e := entry(1)
			e.Sensitive = map[string][]byte{"plaintext": []byte("benchmark secret")}
			b.SetParallelism(64)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := l.Log(context.Background(), e); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// benchLog writes n encrypt-like records from 64 concurrent callers into a
// FileSink that seals a segment every maxBytes, and returns its directory
// with every segment compressed.
func benchLog(b *testing.B, n int, maxBytes int64) string {
	dir := b.TempDir()
	s, err := OpenFileSink(dir, WithSegmentMaxBytes(maxBytes))
	if err != nil {
		b.Fatal(err)
	}
	l := newLogger(b, s, newKey(b))
	var wg sync.WaitGroup
	next := make(chan int)
	for range 64 {
		wg.Go(func() {
			for i := range next {
				e := entry(i)
				e.RequestID = fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
				e.Sensitive = map[string][]byte{"plaintext": []byte("benchmark secret")}
				if err := l.Log(context.Background(), e); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	l.Close()
	s.finishPending()
	s.Close()
	return dir
}

// BenchmarkVerifySegments verifies a segmented, compressed log of a
// million records on all cores and reports records/s and the bytes each
// record takes on disk.
func BenchmarkVerifySegments(b *testing.B) {
	const n = 1_000_000
	dir := benchLog(b, n, 4<<20)
	man, err := ReadManifest(dir)
	if err != nil {
		b.Fatal(err)
	}
	var bytes int64
	var recs uint64
	for _, e := range man.Segments {
		bytes += e.Bytes
		recs += e.LastSeq - e.FirstSeq + 1
	}
	b.ResetTimer()
	var total uint64
	for b.Loop() {
		rep, err := VerifyDir(context.Background(), dir, VerifyOptions{})
		if err != nil || !rep.OK {
			b.Fatalf("%+v %v", rep, err)
		}
		total += rep.Records
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(bytes)/float64(recs), "disk-bytes/record")
}

// BenchmarkExportSyslog exports a segmented, compressed log of encrypt-like
// records from the start to a local syslog receiver over TCP and reports
// records/s.
func BenchmarkExportSyslog(b *testing.B) {
	const n = 50_000
	dir := benchLog(b, n, 4<<20)
	s, err := OpenFileSink(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rcv := syslogtest.Listen(b, "127.0.0.1:0")
	dest, err := OpenDestination("syslog", rcv.Addr(), "node-1")
	if err != nil {
		b.Fatal(err)
	}
	var total int
	for b.Loop() {
		x := NewExporter(s, &Cursor{dir: b.TempDir()}, dest, nil)
		for {
			k, err := x.Step(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if k == 0 {
				break
			}
			total += k
		}
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
}
