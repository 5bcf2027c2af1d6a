package audit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// memWitness keeps the entries it is given, or fails while fail is set.
type memWitness struct {
	mu      sync.Mutex
	fail    bool
	entries [][]byte
}

func (w *memWitness) Witness(_ context.Context, entry []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail {
		return errInjected
	}
	w.entries = append(w.entries, bytes.Clone(entry))
	return nil
}

// checkpoints returns the checkpoint records of node that w kept.
func (w *memWitness) checkpoints(t *testing.T, node string) [][]byte {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	kept, err := ReadWitness(bytes.NewReader(joinLines(w.entries)))
	if err != nil {
		t.Fatal(err)
	}
	return kept[node]
}

// TestVerifyReportsTail checks the count of records after the last
// checkpoint and that a witness catches the tail cut after it.
func TestVerifyReportsTail(t *testing.T) {
	sink := NewMemorySink(0)
	w := &memWitness{}
	l := newLogger(t, sink, newKey(t), WithCheckpointEvery(0), WithCheckpointInterval(0), WithWitnesses("n1", w))
	logN(t, l, 0, 3)
	if err := l.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	logN(t, l, 3, 2)
	rep := mustVerify(t, sink, VerifyOptions{})
	if rep.AfterCheckpoint != 2 || rep.LastCheckpointSeq != 4 || rep.ExternalSeq != 4 {
		t.Fatalf("after_checkpoint %d, last checkpoint %d, external %d; want 2, 4, 4", rep.AfterCheckpoint, rep.LastCheckpointSeq, rep.ExternalSeq)
	}
	if err := l.Close(); err != nil { // the shutdown checkpoint reaches the witness too
		t.Fatal(err)
	}
	kept := w.checkpoints(t, "n1")
	if len(kept) != 2 {
		t.Fatalf("witness kept %d checkpoints, want 2", len(kept))
	}
	lines := splitLines(export(t, sink))
	rep, err := VerifyReader(context.Background(), bytes.NewReader(joinLines(lines)), VerifyOptions{Witnessed: kept})
	if err != nil || !rep.OK || rep.AfterCheckpoint != 0 || rep.ExternalSeq != 7 {
		t.Fatalf("intact log with witness: %+v, %v", rep, err)
	}
	rep, err = VerifyReader(context.Background(), bytes.NewReader(joinLines(lines[:6])), VerifyOptions{Witnessed: kept})
	if err != nil || rep.OK || !strings.HasPrefix(rep.FirstBad.Reason, ReasonTruncated) {
		t.Fatalf("log cut before the witnessed checkpoint: %+v, %v", rep.FirstBad, err)
	}
	if rep, _ := VerifyReader(context.Background(), bytes.NewReader(joinLines(lines[:6])), VerifyOptions{}); !rep.OK || rep.AfterCheckpoint != 2 {
		t.Fatalf("without the witness the cut log verifies with 2 records after the checkpoint: %+v", rep)
	}
}

// TestWitnessFailureIsRetried checks that a checkpoint a witness missed is
// sent with the next one, and that records are unaffected.
func TestWitnessFailureIsRetried(t *testing.T) {
	w := &memWitness{fail: true}
	var errs []error
	l := newLogger(t, NewMemorySink(0), newKey(t), WithCheckpointEvery(0), WithCheckpointInterval(0),
		WithWitnesses("", w), WithErrorHandler(func(err error) { errs = append(errs, err) }))
	logN(t, l, 0, 1)
	if err := l.Checkpoint(context.Background()); err != nil {
		t.Fatalf("Checkpoint with a failing witness = %v", err)
	}
	if len(errs) != 1 || !errors.Is(errs[0], errInjected) {
		t.Fatalf("error handler got %v", errs)
	}
	w.mu.Lock()
	w.fail = false
	w.mu.Unlock()
	logN(t, l, 1, 1)
	if err := l.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, cp := range w.checkpoints(t, "") {
		r, err := ParseRecord(cp)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, r.Seq)
	}
	if len(seqs) != 2 || seqs[0] != 2 || seqs[1] != 4 {
		t.Fatalf("witnessed checkpoints %v, want [2 4]", seqs)
	}
}

// TestWitnessRejectsForeignCheckpoint checks that a witness holding a
// checkpoint the log does not contain (history rewritten) fails the log.
func TestWitnessRejectsForeignCheckpoint(t *testing.T) {
	key := newKey(t)
	build := func(object string) ([]byte, [][]byte) {
		sink, w := NewMemorySink(0), &memWitness{}
		l := newLogger(t, sink, key, WithCheckpointEvery(2), WithCheckpointInterval(0), WithWitnesses("", w))
		e := entry(1)
		e.Object = object
		for range 2 {
			if err := l.Log(context.Background(), e); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		return export(t, sink), w.checkpoints(t, "")
	}
	_, witnessed := build("keys/real")
	forged, _ := build("keys/forged") // same key, same length: only the witness tells them apart
	rep, err := VerifyReader(context.Background(), bytes.NewReader(forged), VerifyOptions{Witnessed: witnessed})
	if err != nil || rep.OK || rep.FirstBad.Reason != ReasonExternal {
		t.Fatalf("rewritten log with witness: %+v, %v", rep.FirstBad, err)
	}
}

func TestFileWitness(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.jsonl")
	w, err := NewFileWitness(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := []byte(`{"seq":2,"kind":"checkpoint"}`)
	if err := w.Witness(context.Background(), witnessEntry("n1", cp)); err != nil {
		t.Fatal(err)
	}
	// A crash tore the next line: the following entry starts a line of its own.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"node":"n1","checkp`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := w.Witness(context.Background(), witnessEntry("n2", cp)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"node":"n1","checkpoint":{"seq":2,"kind":"checkpoint"}}` + "\n" + `{"node":"n1","checkp` + "\n" + `{"node":"n2","checkpoint":{"seq":2,"kind":"checkpoint"}}` + "\n"
	if string(b) != want {
		t.Fatalf("witness file:\n%s\nwant:\n%s", b, want)
	}
	if _, err := ReadWitness(bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("ReadWitness of a torn line = %v, want an error naming line 2", err)
	}
	if _, err := NewFileWitness(filepath.Join(t.TempDir(), "missing", "w.jsonl")); err == nil {
		t.Fatal("witness file in a missing directory accepted")
	}
}

func TestReadWitnessSkipsSyslogPrefix(t *testing.T) {
	in := "Mar  1 12:00:00 host mima-audit[42]: {\"node\":\"a\",\"checkpoint\":{ \"seq\": 4 }}\n\n" +
		"{\"checkpoint\":{\"seq\":6}}\nunrelated line\n"
	kept, err := ReadWitness(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(kept["a"][0]); len(kept["a"]) != 1 || got != `{"seq":4}` {
		t.Fatalf("node a: %q", kept["a"])
	}
	if got := string(kept[""][0]); len(kept[""]) != 1 || got != `{"seq":6}` {
		t.Fatalf("node \"\": %q", kept[""])
	}
}

func TestHTTPWitness(t *testing.T) {
	var (
		mu   sync.Mutex
		got  []byte
		code = http.StatusNoContent
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		got, _ = io.ReadAll(r.Body)
		w.WriteHeader(code)
	}))
	defer srv.Close()
	w, err := OpenWitness(srv.URL + "/witness")
	if err != nil {
		t.Fatal(err)
	}
	entry := witnessEntry("n1", []byte(`{"seq":2}`))
	if err := w.Witness(context.Background(), entry); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if !bytes.Equal(got, entry) {
		t.Fatalf("server got %s, want %s", got, entry)
	}
	code = http.StatusServiceUnavailable
	mu.Unlock()
	if err := w.Witness(context.Background(), entry); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("witness answering 503: %v", err)
	}
}

func TestSyslogWitness(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Skipf("no unix datagram sockets: %v", err)
	}
	defer conn.Close()
	w, err := NewSyslogWitness("unixgram", sock)
	if err != nil {
		t.Fatal(err)
	}
	entry := witnessEntry("n1", []byte(`{"seq":2}`))
	if err := w.Witness(context.Background(), entry); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := ReadWitness(bytes.NewReader(buf[:n]))
	if err != nil || len(kept["n1"]) != 1 || string(kept["n1"][0]) != `{"seq":2}` {
		t.Fatalf("syslog message %q read back as %q, %v", buf[:n], kept, err)
	}
	if !bytes.Contains(buf[:n], []byte("mima-audit")) {
		t.Fatalf("syslog message %q lacks the tag", buf[:n])
	}
}

func TestOpenWitnessTargets(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		target string
		ok     bool
	}{
		{filepath.Join(dir, "w.jsonl"), true},
		{"file://" + filepath.Join(dir, "w.jsonl"), true},
		{"https://witness.example/v1/checkpoints", true},
		{"relative/w.jsonl", false},
		{"file://" + filepath.Join(dir, "missing", "w.jsonl"), false},
		{"http:///no-host", false},
		{"ftp://witness.example/", false},
		{"syslog+udp://", false},
	} {
		_, err := OpenWitness(tc.target)
		if (err == nil) != tc.ok {
			t.Errorf("OpenWitness(%q) = %v, want ok %v", tc.target, err, tc.ok)
		}
	}
}
