package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/storage/postgres/pgtest"
)

// TestAuditAppendAllOrNone appends a batch whose third row collides with a
// row already stored: the single statement keeps none of the batch, and
// the next append still numbers from where the chain ended.
func TestAuditAppendAllOrNone(t *testing.T) {
	b := open(t, pgtest.Database(t))
	ctx := context.Background()
	sink := openSink(t, b, "n1")
	if err := sink.Append(ctx, [][]byte{[]byte("a"), []byte("b")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.pool.Exec(ctx, `INSERT INTO mima_audit (node, seq, line, at) SELECT 'n1', 5, 'x', at FROM mima_audit WHERE node = 'n1' AND seq = 1`); err != nil {
		t.Fatal(err)
	}
	if err := sink.Append(ctx, [][]byte{[]byte("c"), []byte("d"), []byte("e")}); err == nil {
		t.Fatal("a batch colliding with a stored row was accepted")
	}
	if _, err := b.pool.Exec(ctx, `DELETE FROM mima_audit WHERE node = 'n1' AND seq = 5`); err != nil {
		t.Fatal(err)
	}
	if err := sink.Append(ctx, [][]byte{[]byte("c"), []byte("d"), []byte("e")}); err != nil {
		t.Fatal(err)
	}
	if got := scanAll(t, sink); fmt.Sprint(got) != "[a b c d e]" {
		t.Fatalf("chain = %v, want [a b c d e]", got)
	}
}

// TestAuditSendsInFlight sends many batches before waiting for any: all
// commit, numbered in the order sent. Then a batch that fails (its rows
// collide with one stored) fails the one sent after it, which would
// otherwise leave a gap, and once the chain is re-read (Last) appends
// continue from where it ends.
func TestAuditSendsInFlight(t *testing.T) {
	b := open(t, pgtest.Database(t))
	ctx := context.Background()
	sink := openSink(t, b, "n1")
	var waits []func(context.Context) error
	var want []string
	for i := range 40 {
		lines := [][]byte{fmt.Appendf(nil, "%d.a", i), fmt.Appendf(nil, "%d.b", i)}
		want = append(want, string(lines[0]), string(lines[1]))
		waits = append(waits, sink.Send(lines))
	}
	for i, wait := range waits {
		if err := wait(ctx); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	if got := scanAll(t, sink); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("chain = %v, want %v", got, want)
	}
	// Row 82 taken behind the sink's back: the batch of rows 81-82 fails.
	if _, err := b.pool.Exec(ctx, `INSERT INTO mima_audit (node, seq, line, at) SELECT 'n1', 82, 'x', at FROM mima_audit WHERE node = 'n1' AND seq = 1`); err != nil {
		t.Fatal(err)
	}
	failing := sink.Send([][]byte{[]byte("c"), []byte("d")})
	after := sink.Send([][]byte{[]byte("e")})
	if err := failing(ctx); err == nil {
		t.Fatal("a batch colliding with a stored row was accepted")
	}
	if err := after(ctx); err == nil {
		t.Fatal("a batch sent after a failed one was kept: the chain has a gap")
	}
	if _, err := b.pool.Exec(ctx, `DELETE FROM mima_audit WHERE node = 'n1' AND seq = 82`); err != nil {
		t.Fatal(err)
	}
	if _, err := sink.Last(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sink.Append(ctx, [][]byte{[]byte("f")}); err != nil {
		t.Fatal(err)
	}
	if got := scanAll(t, sink); len(got) != 81 || got[80] != "f" {
		t.Fatalf("chain after the failure = %v, want 80 lines and f", got)
	}
}

// TestAuditPipelineReconnects kills the connection the sink sends on: the
// append that meets the dead connection fails and is not in the chain,
// and after the chain is re-read the next one connects again.
func TestAuditPipelineReconnects(t *testing.T) {
	b := open(t, pgtest.Database(t))
	ctx := context.Background()
	sink := openSink(t, b, "n1")
	if err := sink.Append(ctx, [][]byte{[]byte("a")}); err != nil {
		t.Fatal(err)
	}
	var killed int
	err := b.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'WITH head AS%'`).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminating the pipeline's connection: %d killed, %v", killed, err)
	}
	want := []string{"a"}
	for _, line := range []string{"b", "c", "d"} {
		if _, err := sink.Last(ctx); err != nil {
			t.Fatal(err)
		}
		if err := sink.Append(ctx, [][]byte{[]byte(line)}); err == nil {
			want = append(want, line)
		}
	}
	if len(want) < 3 || want[len(want)-1] != "d" {
		t.Fatalf("appends kept after the connection died: %v, want the last two at least", want)
	}
	if got := scanAll(t, sink); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("chain = %v, want %v", got, want)
	}
}

// TestAuditAppendAfterClose: a closed sink refuses appends.
func TestAuditAppendAfterClose(t *testing.T) {
	b := open(t, pgtest.Database(t))
	sink := openSink(t, b, "n1")
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sink.Append(context.Background(), [][]byte{[]byte("a")}); !errors.Is(err, errSinkClosed) {
		t.Fatalf("append after close = %v, want errSinkClosed", err)
	}
}

// openSink opens node's audit chain on b, closed when the test ends.
func openSink(t *testing.T, b *Backend, node string) *AuditSink {
	t.Helper()
	sink, err := b.openAuditSink(context.Background(), node, audit.ChainConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	return sink
}

// scanAll returns the lines of the sink's chain.
func scanAll(t *testing.T, sink *AuditSink) []string {
	t.Helper()
	var got []string
	err := sink.Scan(context.Background(), func(line []byte) error {
		got = append(got, string(line))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// BenchmarkAuditAppend measures one Append of a 64-line batch, about what
// the logger's group commit writes under load.
func BenchmarkAuditAppend(b *testing.B) {
	pg := open(b, pgtest.Database(b))
	sink, err := pg.openAuditSink(context.Background(), "bench", audit.ChainConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	lines := make([][]byte, 64)
	for i := range lines {
		lines[i] = make([]byte, 470)
	}
	for b.Loop() {
		if err := sink.Append(context.Background(), lines); err != nil {
			b.Fatal(err)
		}
	}
}
