package postgres

import (
	"context"
	"sync"
	"testing"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/postgres/pgtest"
	"github.com/mimacrypto/mima/internal/storage/storagetest"
)

func open(t testing.TB, dsn string) *Backend {
	t.Helper()
	b, err := Open(context.Background(), Config{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestConformance runs the storage conformance suite; its cases share one
// database, emptied before each.
func TestConformance(t *testing.T) {
	dsn := pgtest.Database(t)
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		b := open(t, dsn)
		if _, err := b.pool.Exec(context.Background(), `TRUNCATE mima_kv`); err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestMigrationsRunOnceAcrossNodes(t *testing.T) {
	dsn := pgtest.Database(t)
	var wg sync.WaitGroup
	backends := make([]*Backend, 3)
	for i := range backends {
		wg.Go(func() { backends[i] = open(t, dsn) })
	}
	wg.Wait()
	v, err := backends[0].SchemaVersion(context.Background())
	if err != nil || v != len(migrations) {
		t.Fatalf("schema version %d, %v; want %d", v, err, len(migrations))
	}
	var rows int
	if err := backends[1].pool.QueryRow(context.Background(), `SELECT count(*) FROM mima_schema`).Scan(&rows); err != nil || rows != len(migrations) {
		t.Fatalf("%d migration rows, %v", rows, err)
	}
}

func TestWatchSeesOtherNodesWrites(t *testing.T) {
	dsn := pgtest.Database(t)
	a, b := open(t, dsn), open(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := make(chan string, 1024)
	go func() { _ = b.Watch(ctx, func(k string) { seen <- k }, func() {}) }()
	// b's LISTEN starts in the background: a writes until b has seen one
	// write, then every later write of a reaches b.
	for seenOne := false; !seenOne; {
		if err := a.Put(ctx, "probe", nil); err != nil {
			t.Fatal(err)
		}
		select {
		case <-seen:
			seenOne = true
		default:
		}
	}
	if err := a.Batch(ctx, []storage.Op{{Key: "t/x/keys/k1", Value: []byte("1")}, {Key: "tokens/acc", Delete: true}}); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for !got["t/x/keys/k1"] || !got["tokens/acc"] {
		got[<-seen] = true
	}
}

func TestWatchIgnoresOwnWrites(t *testing.T) {
	dsn := pgtest.Database(t)
	a, b := open(t, dsn), open(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := make(chan string, 64)
	go func() { _ = a.Watch(ctx, func(k string) { seen <- k }, func() {}) }()
	for {
		if err := b.Put(ctx, "from-b", []byte("1")); err != nil {
			t.Fatal(err)
		}
		if err := a.Put(ctx, "from-a", []byte("1")); err != nil {
			t.Fatal(err)
		}
		select {
		case k := <-seen:
			if k == "from-a" {
				t.Fatal("a node was told of its own write")
			}
			if k == "from-b" {
				return
			}
		default:
		}
	}
}

func TestLocks(t *testing.T) {
	dsn := pgtest.Database(t)
	a, b := open(t, dsn), open(t, dsn)
	ctx := context.Background()
	la, ok, err := a.TryLock(ctx, "jobs")
	if err != nil || !ok || !la.Held(ctx) {
		t.Fatalf("first TryLock: %v %v", ok, err)
	}
	if _, ok, err := b.TryLock(ctx, "jobs"); ok || err != nil {
		t.Fatalf("second TryLock: %v %v", ok, err)
	}
	la.Release()
	la.Release()
	lb, ok, err := b.TryLock(ctx, "jobs")
	if err != nil || !ok {
		t.Fatalf("TryLock after release: %v %v", ok, err)
	}
	lb.Release()
}

// TestLockPassesWhenHolderDies ends the holder's database session, as the
// death of its node would, and finds the lock free for another node and
// the dead holder's Held false.
func TestLockPassesWhenHolderDies(t *testing.T) {
	dsn := pgtest.Database(t)
	a, b := open(t, dsn), open(t, dsn)
	ctx := context.Background()
	la, ok, _ := a.TryLock(ctx, "jobs")
	if !ok {
		t.Fatal("not taken")
	}
	defer la.Release()
	pid := la.(*advisoryLock).conn.Conn().PgConn().PID()
	// With a timeout (PostgreSQL 14+) the call returns once the session
	// has ended, not when the signal is sent.
	var ended bool
	if err := b.pool.QueryRow(ctx, `SELECT pg_terminate_backend($1, 10000)`, pid).Scan(&ended); err != nil || !ended {
		t.Fatalf("terminating the holder's session: %v %v", ended, err)
	}
	if la.Held(ctx) {
		t.Fatal("a lock whose session ended still reports held")
	}
	lb, ok, err := b.TryLock(ctx, "jobs")
	if err != nil || !ok {
		t.Fatalf("the lock of a dead session was not free: %v %v", ok, err)
	}
	lb.Release()
}

// TestDatabaseDownGivesStorageUnavailable stops a private server under an
// open backend and checks the code, then that the backend recovers.
func TestDatabaseDownGivesStorageUnavailable(t *testing.T) {
	srv := pgtest.Private(t)
	b := open(t, srv.DSN())
	ctx := context.Background()
	if err := b.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, err := b.Get(ctx, "k"); !fault.Is(err, fault.StorageFailure) {
		t.Fatalf("get while down: %v", err)
	}
	if err := b.Put(ctx, "k2", []byte("v")); !fault.Is(err, fault.StorageFailure) {
		t.Fatalf("put while down: %v", err)
	}
	srv.Start()
	if !pgtest.Wait(10e9, func() bool { _, err := b.Get(ctx, "k"); return err == nil }) {
		t.Fatal("backend did not recover")
	}
	if _, err := b.Get(ctx, "k2"); err != storage.ErrNotFound {
		t.Fatalf("the failed put left %v", err)
	}
}

func TestSuccessor(t *testing.T) {
	for in, want := range map[string]string{"a": "b", "a\xff": "b", "": "", "\xff\xff": ""} {
		got := successor([]byte(in))
		if string(got) != want || (want == "" && got != nil) {
			t.Errorf("successor(%q) = %q", in, got)
		}
	}
}

// TestAuditChainsPerNode writes two nodes' chains through the audit
// logger and verifies each; a second sink for a node id in use is refused.
func TestAuditChainsPerNode(t *testing.T) {
	dsn := pgtest.Database(t)
	b := open(t, dsn)
	ctx := context.Background()
	for _, node := range []string{"n1", "n2"} {
		sink, err := b.openAuditSink(ctx, node, audit.ChainConfig{})
		if err != nil {
			t.Fatal(err)
		}
		l, err := audit.New(sink)
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if err := l.Log(ctx, audit.Entry{Operation: "encrypt", Object: node}); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := open(t, dsn).openAuditSink(ctx, node, audit.ChainConfig{}); err == nil {
			t.Fatalf("a second sink for %s was opened", node)
		}
		sink.Close()
	}
	nodes, err := b.AuditNodes(ctx)
	if err != nil || len(nodes) != 2 {
		t.Fatalf("nodes %v, %v", nodes, err)
	}
	for _, node := range nodes {
		rep, err := audit.Verify(ctx, b.AuditSource(node), audit.VerifyOptions{})
		if err != nil || !rep.OK || rep.Records != 5 {
			t.Fatalf("%s: %+v, %v", node, rep, err)
		}
	}
	// A reopened chain continues where it stopped.
	sink, err := b.openAuditSink(ctx, "n1", audit.ChainConfig{})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := audit.New(sink)
	if err := l.Log(ctx, audit.Entry{Operation: "decrypt"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	sink.Close()
	if rep, _ := audit.Verify(ctx, b.AuditSource("n1"), audit.VerifyOptions{}); !rep.OK || rep.Records != 6 {
		t.Fatalf("continued chain: %+v", rep)
	}
}
