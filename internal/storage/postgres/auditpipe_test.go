package postgres

import (
	"context"
	"crypto/rand"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/jackc/pgx/v5"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/storage/postgres/pgtest"
)

// BenchmarkAuditLogger measures group-committed Log calls from 16
// goroutines into a node's chain, straight to PostgreSQL on loopback and
// through a proxy that delays each direction by 1 ms (a server one
// network hop away).
func BenchmarkAuditLogger(b *testing.B) {
	dsn := pgtest.Database(b)
	for _, c := range []struct {
		name  string
		delay time.Duration
	}{{"loopback", 0}, {"delay1ms", time.Millisecond}} {
		b.Run(c.name, func(b *testing.B) {
			target := dsn
			if c.delay > 0 {
				target = delayProxy(b, dsn, c.delay)
			}
			pg := open(b, target)
			sink, err := pg.openAuditSink(context.Background(), "bench-"+c.name, audit.ChainConfig{})
			if err != nil {
				b.Fatal(err)
			}
			defer sink.Close()
			key, err := sm2.GenerateKey(rand.Reader)
			if err != nil {
				b.Fatal(err)
			}
			l, err := audit.New(sink)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			if err := l.SetKeys(make([]byte, 32), key); err != nil {
				b.Fatal(err)
			}
			e := audit.Entry{RequestID: "req-0123456789", Tenant: "acme", Accessor: "acc-7f3a", Operation: "key.encrypt", Object: "keys/k1", Status: 200, Remote: "10.0.0.7:5123"}
			b.SetParallelism(16)
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

// delayProxy forwards connections to the server of dsn, delivering every
// chunk in each direction delay after it was read, and returns a DSN that
// goes through it.
func delayProxy(t testing.TB, dsn string, delay time.Duration) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	server := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", server)
			if err != nil {
				c.Close()
				continue
			}
			go delayCopy(s, c, delay)
			go delayCopy(c, s, delay)
		}
	}()
	return strings.Replace(dsn, server, ln.Addr().String(), 1)
}

// delayCopy copies src to dst, each chunk delay after it was read, and
// closes both at the end.
func delayCopy(dst, src net.Conn, delay time.Duration) {
	type chunk struct {
		b  []byte
		at time.Time
	}
	chunks := make(chan chunk, 1024)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 64<<10)
			n, err := src.Read(buf)
			if n > 0 {
				chunks <- chunk{buf[:n], time.Now().Add(delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range chunks {
		time.Sleep(time.Until(c.at))
		if _, err := dst.Write(c.b); err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
}
