package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/mimacrypto/mima/internal/clocktest"
)

var errInjected = errors.New("injected sink failure")

func newFakeClock() *clocktest.Clock {
	return clocktest.New(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
}

// flakySink fails Append while fail is set. When ambiguous is also set, it
// writes the lines and still reports failure, like a commit whose
// acknowledgement was lost.
type flakySink struct {
	*MemorySink
	fail      atomic.Bool
	ambiguous atomic.Bool
}

func (s *flakySink) Append(ctx context.Context, lines [][]byte) error {
	if !s.fail.Load() {
		return s.MemorySink.Append(ctx, lines)
	}
	if s.ambiguous.Load() {
		if err := s.MemorySink.Append(ctx, lines); err != nil {
			return err
		}
	}
	return errInjected
}

func newKey(t testing.TB) *sm2.PrivateKey {
	t.Helper()
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newLogger returns a Logger over sink with keys loaded; it is closed when
// the test ends.
func newLogger(t testing.TB, sink Sink, key *sm2.PrivateKey, opts ...Option) *Logger {
	t.Helper()
	l, err := New(sink, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if key != nil {
		if err := l.SetKeys([]byte("0123456789abcdef0123456789abcdef"), key); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// withJSONRecords makes a Logger store request records as JSON, as it did
// before the compact form: a log of the old format.
func withJSONRecords() Option { return func(c *config) { c.jsonRecords = true } }

func entry(i int) Entry {
	return Entry{
		RequestID: fmt.Sprintf("req-%04d", i),
		Tenant:    "acme",
		Accessor:  "acc-7f3a",
		Operation: "key.encrypt",
		Object:    fmt.Sprintf("keys/k%d", i),
		Status:    200,
		Remote:    "10.0.0.7:5123",
	}
}

func logN(t testing.TB, l *Logger, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := l.Log(context.Background(), entry(i)); err != nil {
			t.Fatalf("Log %d: %v", i, err)
		}
	}
}

// export returns the stored log of src.
func export(t testing.TB, src Source) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Export(context.Background(), &buf, src); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// records parses every line of src.
func records(t testing.TB, src Source) []*Record {
	t.Helper()
	var out []*Record
	err := src.Scan(context.Background(), func(line []byte) error {
		r, err := ParseRecord(line)
		out = append(out, r)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// kinds returns "r" or "c" per record, e.g. "rrrc".
func kinds(recs []*Record) string {
	var b bytes.Buffer
	for _, r := range recs {
		b.WriteByte(r.Kind[0])
	}
	return b.String()
}

// splitLines splits a log into lines without '\n'.
func splitLines(log []byte) [][]byte {
	return bytes.Split(bytes.TrimSuffix(log, []byte("\n")), []byte("\n"))
}

func joinLines(lines [][]byte) []byte {
	return append(bytes.Join(lines, []byte("\n")), '\n')
}

// rewrite parses line, applies fn and re-encodes it with a freshly computed
// hash, as an attacker who knows the format would.
func rewrite(t testing.TB, line []byte, fn func(*Record)) []byte {
	t.Helper()
	r, err := ParseRecord(line)
	if err != nil {
		t.Fatal(err)
	}
	fn(r)
	r.Hash = recordHash(r)
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustVerify(t testing.TB, src Source, opts VerifyOptions) Report {
	t.Helper()
	rep, err := Verify(context.Background(), src, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Fatalf("log does not verify: %v", rep.FirstBad)
	}
	return rep
}

// compactLines returns the stored lines of src.
func compactLines(t testing.TB, src Source) [][]byte {
	t.Helper()
	var out [][]byte
	if err := src.Scan(context.Background(), func(line []byte) error {
		out = append(out, bytes.Clone(line))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}
