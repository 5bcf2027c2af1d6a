package postgres

import (
	"context"
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
	sink, err := b.openAuditSink(ctx, "n1", audit.ChainConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
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
	var got []string
	err = sink.Scan(ctx, func(line []byte) error {
		got = append(got, string(line))
		return nil
	})
	if err != nil || fmt.Sprint(got) != "[a b c d e]" {
		t.Fatalf("chain = %v, %v; want [a b c d e]", got, err)
	}
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
