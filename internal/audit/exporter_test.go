package audit

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"

	"github.com/mimacrypto/mima/internal/syslogtest"
)

// exportLog returns a FileSink sealing a segment every ~3000 bytes and a
// Logger writing to it, with keys loaded.
func exportLog(t *testing.T) (*FileSink, *Logger) {
	t.Helper()
	s, err := OpenFileSink(t.TempDir(), WithSegmentMaxBytes(1000))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, newLogger(t, s, newKey(t), WithCheckpointEvery(0))
}

// drain steps x until it has nothing left to deliver and returns how many
// records it delivered.
func drain(t *testing.T, x *Exporter) int {
	t.Helper()
	total := 0
	for {
		n, err := x.Step(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
}

// checkDelivered checks that got, records as received, hold every record of
// s in order, each record after the first delivery of it a repeat of an
// earlier one (at least once, never out of order).
func checkDelivered(t *testing.T, s Source, got [][]byte) {
	t.Helper()
	want := splitLines(export(t, s))
	next := 0
	for i, line := range got {
		r, err := ParseRecord(line)
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
		switch {
		case r.Seq <= uint64(next) && bytes.Equal(line, want[r.Seq-1]):
		case r.Seq == uint64(next+1) && bytes.Equal(line, want[next]):
			next++
		default:
			t.Fatalf("delivery %d is record %d, want %d or a repeat of an earlier one", i, r.Seq, next+1)
		}
	}
	if next != len(want) {
		t.Fatalf("%d of %d records delivered", next, len(want))
	}
}

// records5424 returns the records carried by syslog messages.
func records5424(t *testing.T, msgs [][]byte) [][]byte {
	t.Helper()
	header := regexp.MustCompile(`^<110>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z node-1 mima - audit - \{`)
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		if !header.Match(m) {
			t.Fatalf("message %d is not RFC 5424 as configured: %.80s", i, m)
		}
		out[i] = syslogtest.Record(m)
	}
	return out
}

func TestExportSyslogAcrossSegmentsAndRestarts(t *testing.T) {
	s, l := exportLog(t)
	rcv := syslogtest.Listen(t, "127.0.0.1:0")
	dest, err := OpenDestination("syslog", "tcp://"+rcv.Addr(), "node 1")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := OpenCursor(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	x := NewExporter(s, cur, dest, nil)
	logN(t, l, 1, 25)
	drain(t, x)
	logN(t, l, 26, 50) // the active segment grows and is sealed behind the exporter
	drain(t, x)
	if len(s.Manifest().Segments) < 3 {
		t.Fatalf("%d segments, want the export to cross several", len(s.Manifest().Segments))
	}

	// A new exporter (a restarted node) resumes after the saved cursor.
	cur, err = OpenCursor(s.dir)
	if err != nil || cur.Seq() != x.cursor.Seq() || cur.Seq() == 0 {
		t.Fatalf("cursor after reopening: %d, %v; want %d", cur.Seq(), err, x.cursor.Seq())
	}
	x = NewExporter(s, cur, dest, nil)
	if n := drain(t, x); n != 0 {
		t.Fatalf("a restarted exporter sent %d records again", n)
	}
	logN(t, l, 76, 5)
	drain(t, x)
	msgs, err := rcv.Messages()
	if err != nil {
		t.Fatal(err)
	}
	got := records5424(t, msgs)
	checkDelivered(t, s, got)
	if len(got) != len(splitLines(export(t, s))) {
		t.Fatalf("%d deliveries without a failure, want each record once", len(got))
	}
	if x.Lag() != 0 {
		t.Fatalf("lag %d after delivering everything", x.Lag())
	}
}

func TestExportSyslogUnixSocket(t *testing.T) {
	s, l := exportLog(t)
	sock := t.TempDir() + "/syslog.sock"
	rcv := syslogtest.ListenOn(t, "unix", sock)
	dest, err := OpenDestination("syslog", "unix://"+sock, "node-1")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := OpenCursor(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	logN(t, l, 1, 10)
	drain(t, NewExporter(s, cur, dest, nil))
	msgs, err := rcv.Messages()
	if err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, s, records5424(t, msgs))
}

func TestExportWaitsForAbsentReceiver(t *testing.T) {
	s, l := exportLog(t)
	rcv := syslogtest.Listen(t, "127.0.0.1:0")
	addr := rcv.Addr()
	dest, err := OpenDestination("syslog", addr, "node-1")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := OpenCursor(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	x := NewExporter(s, cur, dest, nil)
	logN(t, l, 1, 10)
	drain(t, x)
	rcv.Kill()

	// Requests go on while nobody receives; the records wait in the log.
	logN(t, l, 11, 40)
	if _, err := x.Step(context.Background()); err == nil || x.Failures() != 1 {
		t.Fatalf("a batch to a dead receiver: %v, %d failures", err, x.Failures())
	}
	before := cur.Seq()
	if lag := x.Lag(); lag < 40 {
		t.Fatalf("lag %d with 40 undelivered records", lag)
	}
	rcv2 := syslogtest.Listen(t, addr)
	drain(t, x)
	if cur.Seq() <= before || x.Lag() != 0 {
		t.Fatalf("cursor %d (was %d), lag %d after the receiver came back", cur.Seq(), before, x.Lag())
	}
	m1, _ := rcv.Messages()
	m2, err := rcv2.Messages()
	if err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, s, records5424(t, append(m1, m2...)))
}

func TestExportHTTPAtLeastOnce(t *testing.T) {
	s, l := exportLog(t)
	var (
		mu   sync.Mutex
		got  [][]byte
		fail = true
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Content-Type") != "application/x-ndjson" {
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
		}
		got = append(got, splitLines(body)...) // kept even when refused: a lost answer
		if fail {
			fail = false
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	dest, err := OpenDestination("http", srv.URL+"/ingest", "")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := OpenCursor(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	x := NewExporter(s, cur, dest, nil)
	logN(t, l, 1, 30)
	if _, err := x.Step(context.Background()); err == nil || cur.Seq() != 0 {
		t.Fatalf("a refused batch: %v, cursor %d", err, cur.Seq())
	}
	drain(t, x)
	mu.Lock()
	defer mu.Unlock()
	checkDelivered(t, s, got)
}

func TestOpenDestinationRefusesBadAddresses(t *testing.T) {
	for _, tc := range []struct{ typ, addr string }{
		{"syslog", "localhost"},
		{"syslog", "unix://relative/sock"},
		{"http", "ftp://x/y"},
		{"http", "http://"},
		{"kafka", "localhost:9092"},
	} {
		if _, err := OpenDestination(tc.typ, tc.addr, "n"); err == nil {
			t.Errorf("%s %q accepted", tc.typ, tc.addr)
		}
	}
}
