package bolt

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/storagetest"
)

// openTemp opens a new database in a fresh temporary directory and closes
// it when the test ends.
func openTemp(tb testing.TB) *Backend {
	tb.Helper()
	b, err := Open(filepath.Join(tb.TempDir(), "data", "mima.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Error(err)
		}
	})
	return b
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend { return openTemp(t) })
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "a", "b", "mima.db")
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]fs.FileMode{
		filepath.Join(root, "a"):      fs.ModeDir | 0o700,
		filepath.Join(root, "a", "b"): fs.ModeDir | 0o700,
		path:                          0o600,
	} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s has mode %v, want %v", p, fi.Mode(), want)
		}
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "mima.db")
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "k/1", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := b.Batch(ctx, []storage.Op{{Key: "k/2", Value: []byte("two")}, {Key: "k/3", Value: []byte{}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "gone", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b = reopen(t, path)
	for k, want := range map[string]string{"k/1": "one", "k/2": "two", "k/3": ""} {
		got, err := b.Get(ctx, k)
		if err != nil || string(got) != want {
			t.Errorf("after reopen, Get(%q) = %q, %v; want %q", k, got, err, want)
		}
	}
	if _, err := b.Get(ctx, "gone"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("after reopen, Get of deleted key = %v, want ErrNotFound", err)
	}
}

// reopen opens path and closes it when the test ends.
func reopen(t *testing.T, path string) *Backend {
	t.Helper()
	b, err := Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mima.db")
	first, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// bbolt's flock is per open file, so a second Open in this process
	// contends exactly as another mima process would.
	second, err := Open(path)
	if err == nil {
		_ = second.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
	if !errors.Is(err, bolterrors.ErrTimeout) {
		t.Errorf("error %v does not wrap bbolt's ErrTimeout", err)
	}
	for _, want := range []string{"in use by another mima process", path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	reopen(t, path)
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a bolt file "), 1024), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(notDir, "sub", "mima.db"), garbage} {
		b, err := Open(path)
		if err == nil {
			_ = b.Close()
			t.Fatalf("Open(%q) succeeded", path)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("Open(%q) error %q does not name the path", path, err)
		}
		if errors.Unwrap(err) == nil {
			t.Errorf("Open(%q) error %q wraps no cause", path, err)
		}
	}
}

func TestUseAfterClose(t *testing.T) {
	ctx := t.Context()
	b, err := Open(filepath.Join(t.TempDir(), "mima.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if v, err := b.Get(ctx, "k"); err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get after Close = %q, %v; want a non-ErrNotFound error", v, err)
	}
	if err := b.Put(ctx, "k", []byte("v")); err == nil {
		t.Error("Put after Close succeeded")
	}
	if keys, err := b.List(ctx, "", "", 0); err == nil {
		t.Errorf("List after Close = %q, want an error", keys)
	}
}

func openBench(b *testing.B) storage.Backend { return openTemp(b) }

func BenchmarkPut(b *testing.B)           { storagetest.BenchmarkPut(b, openBench) }
func BenchmarkGet(b *testing.B)           { storagetest.BenchmarkGet(b, openBench) }
func BenchmarkBatchParallel(b *testing.B) { storagetest.BenchmarkBatchParallel(b, openBench) }
func BenchmarkListPage(b *testing.B)      { storagetest.BenchmarkListPage(b, openBench) }

// TestGroupCommit checks that writers queued behind a running commit share
// the next transaction (and so one fsync). The test plays the running
// commit itself: it marks a commit as under way, waits until every writer
// has queued, then runs the round that a finishing leader would.
func TestGroupCommit(t *testing.T) {
	const writers = 32
	b := openTemp(t)
	before := txID(t, b)
	b.mu.Lock()
	b.committing = true
	b.mu.Unlock()
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			var err error
			if key := fmt.Sprintf("k/%d", i); i%2 == 0 {
				err = b.Put(t.Context(), key, []byte(key))
			} else {
				err = b.Batch(t.Context(), []storage.Op{{Key: key, Value: []byte(key)}, {Key: "shared", Delete: true}})
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	for queued := 0; queued < writers; runtime.Gosched() {
		b.mu.Lock()
		queued = len(b.queue)
		b.mu.Unlock()
	}
	b.commitRound()
	wg.Wait()
	if got := txID(t, b) - before; got != 1 {
		t.Errorf("%d queued writes took %d commits, want 1", writers, got)
	}
	keys, err := b.List(t.Context(), "k/", "", 0)
	if err != nil || len(keys) != writers {
		t.Errorf("List = %d keys, %v; want %d", len(keys), err, writers)
	}
	// A lone writer after the round commits on its own, at once.
	if err := b.Put(t.Context(), "after", nil); err != nil || txID(t, b)-before != 2 {
		t.Fatalf("lone write: %v, %d commits", err, txID(t, b)-before)
	}
}

func TestOverlongKeyRejected(t *testing.T) {
	b := openTemp(t)
	long := strings.Repeat("k", bbolt.MaxKeySize+1)
	if err := b.Put(t.Context(), long, nil); !errors.Is(err, storage.ErrInvalidKey) {
		t.Fatalf("overlong key: %v", err)
	}
}

// txID returns the ID of the last committed transaction.
func txID(t *testing.T, b *Backend) int {
	t.Helper()
	var id int
	if err := b.db.View(func(tx *bbolt.Tx) error {
		id = tx.ID()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return id
}
