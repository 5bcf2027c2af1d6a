package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/jackc/pgx/v5"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/internal/storage/postgres/pgtest"
)

// auditLogger returns a Logger over sink with keys loaded and clock,
// closed when the test ends.
func auditLogger(t *testing.T, sink audit.Sink, key *sm2.PrivateKey, opts ...audit.Option) *audit.Logger {
	t.Helper()
	l, err := audit.New(sink, append([]audit.Option{audit.WithCheckpointEvery(0), audit.WithCheckpointInterval(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := l.SetKeys(make([]byte, 32), key); err != nil {
		t.Fatal(err)
	}
	return l
}

func logAudit(t *testing.T, l *audit.Logger, n int) {
	t.Helper()
	for i := range n {
		if err := l.Log(context.Background(), audit.Entry{RequestID: fmt.Sprint("req-", i), Tenant: "acme", Operation: "key.encrypt", Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
}

func auditKey(t *testing.T) *sm2.PrivateKey {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// partitions lists the partitions of mima_audit.
func partitions(t *testing.T, b *Backend) []string {
	t.Helper()
	rows, err := b.pool.Query(context.Background(), `SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'mima_audit'::regclass ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestAuditMigratesUnpartitionedChain writes a chain into the schema of
// earlier versions (one plain mima_audit table), opens the store, which
// migrates it in place, and continues the chain: the old rows are now a
// partition, and the whole chain still verifies.
func TestAuditMigratesUnpartitionedChain(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t)
	key := auditKey(t)
	mem := audit.NewMemorySink(0)
	old := auditLogger(t, mem, key)
	logAudit(t, old, 5)
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	stmts := []string{
		`CREATE TABLE mima_schema (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
		migrations[0], migrations[1],
		`INSERT INTO mima_schema (version) VALUES (1), (2)`,
	}
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	seq := 0
	err = mem.Scan(ctx, func(line []byte) error {
		seq++
		_, err := conn.Exec(ctx, `INSERT INTO mima_audit (node, seq, line) VALUES ('n1', $1, $2)`, seq, line)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cp, _ := mem.LoadCheckpoint(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO mima_audit_checkpoint (node, line) VALUES ('n1', $1)`, cp); err != nil {
		t.Fatal(err)
	}

	b := open(t, dsn)
	if got := partitions(t, b); !slices.Contains(got, legacyPartition) {
		t.Fatalf("partitions after the migration = %v, want the old table among them", got)
	}
	sink := openSink(t, b, "n1")
	l := auditLogger(t, sink, key)
	logAudit(t, l, 3)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(ctx, b.AuditSource("n1"), audit.VerifyOptions{PublicKey: &key.PublicKey})
	if err != nil || !rep.OK || rep.Records < uint64(seq)+3 {
		t.Fatalf("verify after the migration: %+v, %v (old chain %d records)", rep, err, seq)
	}
}

// TestAuditPartitionsSealArchiveExpire runs a chain across three hourly
// partitions: each segment is sealed when its partition ends, archived in
// the file format and verified there, and a partition is dropped only
// once its segments are archived and older than the retention; the chain
// left in the database still verifies.
func TestAuditPartitionsSealArchiveExpire(t *testing.T) {
	ctx := context.Background()
	b := open(t, pgtest.Database(t))
	clock := clocktest.New(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	sink, err := b.openAuditSink(ctx, "n1", audit.ChainConfig{SegmentMaxBytes: 1 << 30, SegmentMaxAge: time.Hour, Archiver: audit.ChainArchiveDir(dir), Retention: 2 * time.Hour, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	key := auditKey(t)
	l := auditLogger(t, sink, key, audit.WithClock(clock.Now))
	logAudit(t, l, 4)
	clock.Advance(time.Hour) // the partition of 10:00 ends: the next batch seals its segment
	logAudit(t, l, 2)
	clock.Advance(time.Hour)
	logAudit(t, l, 2)
	if err := sink.Archive(ctx); err != nil {
		t.Fatal(err)
	}
	man, err := audit.ReadManifest(filepath.Join(dir, "n1"))
	if err != nil || len(man.Segments) != 2 {
		t.Fatalf("archive manifest = %+v, %v; want two segments", man, err)
	}
	for _, e := range man.Segments {
		if e.Verified == nil || !e.Verified.OK || e.Status != audit.StatusCompressed {
			t.Fatalf("archived segment %+v", e)
		}
	}
	if err := sink.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	if got := partitions(t, b); !slices.Contains(got, "mima_audit_p20260301_100000") {
		t.Fatalf("partitions = %v: the 10:00 one went before the retention", got)
	}
	clock.Advance(2 * time.Hour) // 14:00: the segment of 10:00 ended at 11:00 (its closing checkpoint)
	if err := sink.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	got := partitions(t, b)
	if slices.Contains(got, "mima_audit_p20260301_100000") || !slices.Contains(got, "mima_audit_p20260301_120000") {
		t.Fatalf("partitions = %v, want 10:00 dropped and 12:00 (the active segment) kept", got)
	}
	rep, err := audit.Verify(ctx, b.AuditSource("n1"), audit.VerifyOptions{PublicKey: &key.PublicKey})
	if err != nil || !rep.OK || rep.FirstSeq != man.Segments[0].LastSeq+1 {
		t.Fatalf("verify the chain left in the database: %+v, %v", rep, err)
	}
}
