package audit

import (
	"context"
	"testing"
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
