package bolt

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mimacrypto/mima/internal/storage"
)

const (
	crashChildEnv = "MIMA_BOLT_CRASH_CHILD"
	crashPathEnv  = "MIMA_BOLT_CRASH_PATH"
	// crashAcks is how many acknowledged keys the parent reads before it
	// kills the child.
	crashAcks = 400
)

// crashValue is the value the child writes at key.
func crashValue(key string) []byte {
	return fmt.Appendf(nil, "%s|%0300d", key, len(key))
}

// TestCrashDurability runs a child process (this test binary again) that
// writes concurrently and prints "ack <key>" after each write returns. The
// parent SIGKILLs it mid-stream, reopens the file, and requires every
// acknowledged key to be there with its value.
func TestCrashDurability(t *testing.T) {
	if os.Getenv(crashChildEnv) == "1" {
		crashChild(t, os.Getenv(crashPathEnv))
		return
	}
	path := filepath.Join(t.TempDir(), "mima.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDurability$")
	cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashPathEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	// Read until the pipe closes. Lines already written when the child dies
	// are acknowledgements too; a final line cut short has no newline and
	// is dropped by the error check.
	var acked, other []string
	var killErr error
	killed := false
	r := bufio.NewReader(stdout)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break
		}
		if key, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "ack "); ok {
			acked = append(acked, key)
		} else {
			other = append(other, line)
		}
		if !killed && (len(acked) >= crashAcks || len(other) > 0) {
			killErr = cmd.Process.Kill() // SIGKILL on Unix
			killed = true
		}
	}
	waitErr := cmd.Wait()
	if len(other) > 0 || !killed || killErr != nil {
		t.Fatalf("child failed (kill: %v, wait: %v)\nstdout: %q\nstderr: %s", killErr, waitErr, other, &stderr)
	}
	if cmd.ProcessState.Exited() {
		t.Fatalf("child exited by itself (%v) instead of being killed", cmd.ProcessState)
	}
	if len(acked) < crashAcks {
		t.Fatalf("read %d acknowledgements, want at least %d", len(acked), crashAcks)
	}

	b := reopen(t, path)
	for _, key := range acked {
		got, err := b.Get(t.Context(), key)
		if err != nil {
			t.Fatalf("acknowledged key %q lost after SIGKILL: %v", key, err)
		}
		if want := crashValue(key); !bytes.Equal(got, want) {
			t.Fatalf("acknowledged key %q = %q after SIGKILL, want %q", key, got, want)
		}
	}
	t.Logf("%d acknowledged keys survived SIGKILL", len(acked))
}

// crashChild writes from several goroutines until it is killed, printing
// each key only after the Put or Batch that wrote it has returned.
func crashChild(t *testing.T, path string) {
	b, err := Open(path)
	if err != nil {
		fmt.Printf("open: %v\n", err)
		return
	}
	var mu sync.Mutex
	ack := func(keys ...string) {
		mu.Lock()
		defer mu.Unlock()
		for _, k := range keys {
			fmt.Printf("ack %s\n", k)
		}
	}
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("crash/%d/%d", g, i)
				var err error
				keys := []string{key}
				if g%2 == 0 {
					err = b.Put(ctx, key, crashValue(key))
				} else {
					keys = append(keys, key+"/b")
					err = b.Batch(ctx, []storage.Op{
						{Key: keys[0], Value: crashValue(keys[0])},
						{Key: keys[1], Value: crashValue(keys[1])},
					})
				}
				if err != nil {
					fmt.Printf("write %s: %v\n", key, err)
					return
				}
				ack(keys...)
			}
		})
	}
	// Writers stop only on error, and the parent kills this process at the
	// first line that is not an ack, so this returns only if all failed.
	wg.Wait()
}
