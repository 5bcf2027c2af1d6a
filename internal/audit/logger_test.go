package audit

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/internal/fault"
)

func TestRoundTrip(t *testing.T) {
	sinks := map[string]func(t *testing.T) Sink{
		"memory": func(*testing.T) Sink { return NewMemorySink(0) },
		"file": func(t *testing.T) Sink {
			s, err := OpenFileSink(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	for name, open := range sinks {
		t.Run(name, func(t *testing.T) {
			sink := open(t)
			key := newKey(t)
			l := newLogger(t, sink, key, WithCheckpointEvery(5))
			logN(t, l, 0, 23)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			recs := records(t, sink)
			if got, want := kinds(recs), strings.Repeat("rrrrrc", 4)+"rrrc"; got != want {
				t.Fatalf("kinds = %s, want %s", got, want)
			}
			rep := mustVerify(t, sink, VerifyOptions{PublicKey: &key.PublicKey})
			if rep.Records != 28 || rep.Checkpoints != 5 || rep.LastCheckpointSeq != 28 || rep.Head != recs[27].Hash {
				t.Fatalf("report = %+v", rep)
			}
			saved, err := sink.LoadCheckpoint(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if last := splitLines(export(t, sink))[27]; !bytes.Equal(saved, last) {
				t.Fatalf("saved checkpoint %s, want last line %s", saved, last)
			}
		})
	}
}

func TestRecordFields(t *testing.T) {
	sink := NewMemorySink(0)
	clock := newFakeClock()
	l := newLogger(t, sink, nil, WithClock(clock.Now))
	at := time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("CST", 8*3600))
	e := Entry{Time: at, RequestID: "r1", Tenant: "t", Accessor: "a", Operation: "op",
		Object: "o\xff", Status: 403, Code: "permission_denied", Remote: "1.2.3.4:5"}
	if err := l.Log(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{{}, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if err := l.Log(context.Background(), Entry{Time: at, Operation: "now"}); err != nil {
			t.Fatal(err)
		}
	}
	recs := records(t, sink)
	want := Record{Seq: 1, Time: "2025-01-01T19:04:05.000000006Z", Kind: KindRequest, RequestID: "r1",
		Tenant: "t", Accessor: "a", Operation: "op", Object: "o\uFFFD", Status: 403,
		Code: "permission_denied", Remote: "1.2.3.4:5", Prev: zeroHash, Hash: recs[0].Hash, Form: FormCompact}
	if !reflect.DeepEqual(*recs[0], want) {
		t.Fatalf("record = %+v\nwant %+v", *recs[0], want)
	}
	for _, r := range recs[1:] {
		if r.Time != formatTime(clock.Now()) || r.Prev != recs[r.Seq-2].Hash {
			t.Fatalf("record = %+v", *r)
		}
	}
}

func TestCheckpointEveryN(t *testing.T) {
	sink := NewMemorySink(0)
	l := newLogger(t, sink, newKey(t), WithCheckpointEvery(3), WithCheckpointInterval(0))
	logN(t, l, 0, 7)
	recs := records(t, sink)
	if got := kinds(recs); got != "rrrcrrrcr" {
		t.Fatalf("kinds = %s", got)
	}
	for _, i := range []int{3, 7} {
		cp := recs[i]
		if cp.Count != uint64(i) || cp.Head != recs[i-1].Hash {
			t.Fatalf("checkpoint %d covers %d records up to %s", cp.Seq, cp.Count, cp.Head)
		}
	}
}

func TestCheckpointInterval(t *testing.T) {
	sink := NewMemorySink(0)
	clock := newFakeClock()
	l := newLogger(t, sink, newKey(t), WithClock(clock.Now),
		WithCheckpointEvery(0), WithCheckpointInterval(time.Hour))
	logN(t, l, 0, 1)
	clock.Advance(time.Hour - time.Second)
	logN(t, l, 1, 1)
	if got := kinds(records(t, sink)); got != "rr" {
		t.Fatalf("before the interval: kinds = %s", got)
	}
	clock.Advance(time.Second)
	logN(t, l, 2, 1)
	recs := records(t, sink)
	if got := kinds(recs); got != "rrrc" {
		t.Fatalf("after the interval: kinds = %s", got)
	}
	if recs[3].Time != formatTime(clock.Now()) {
		t.Fatalf("checkpoint time %s, want %s", recs[3].Time, formatTime(clock.Now()))
	}
	clock.Advance(time.Hour)
	if err := l.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := kinds(records(t, sink)); got != "rrrc" {
		t.Fatalf("checkpoint without new records: kinds = %s", got)
	}
}

func TestExplicitCheckpoint(t *testing.T) {
	sink := NewMemorySink(0)
	l := newLogger(t, sink, newKey(t), WithCheckpointEvery(0), WithCheckpointInterval(0))
	logN(t, l, 0, 2)
	if err := l.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := kinds(records(t, sink)); got != "rrc" {
		t.Fatalf("kinds = %s", got)
	}
	l.ClearKeys()
	logN(t, l, 2, 1)
	if err := l.Checkpoint(context.Background()); !errors.Is(err, ErrNoSigner) {
		t.Fatalf("Checkpoint while sealed = %v, want ErrNoSigner", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close while sealed = %v", err)
	}
	if got := kinds(records(t, sink)); got != "rrcr" {
		t.Fatalf("kinds = %s", got)
	}
}

func TestSensitiveValuesNeverStored(t *testing.T) {
	dir := t.TempDir()
	sink, err := OpenFileSink(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	hmacKey := []byte("audit-hmac-key-0123456789abcdef!")
	l, err := New(sink)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.SetKeys(hmacKey, newKey(t)); err != nil {
		t.Fatal(err)
	}
	secret := []byte("TOP-SECRET-plaintext-4242")
	token := []byte("s.hvs.CAESIJ-token-value")
	e := entry(1)
	e.Sensitive = map[string][]byte{"plaintext": secret, "token": token}
	if err := l.Log(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	l.ClearKeys()
	if err := l.Log(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, LogFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range [][]byte{secret, token} {
		for _, form := range []string{string(s), hex.EncodeToString(s), base64.StdEncoding.EncodeToString(s), base64.RawURLEncoding.EncodeToString(s)} {
			if bytes.Contains(raw, []byte(form)) {
				t.Fatalf("log contains secret %q", form)
			}
		}
	}
	recs := records(t, sink)
	mac := hmac.New(sm3.New, hmacKey)
	mac.Write(secret)
	if got, want := recs[0].HMAC["plaintext"], hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Fatalf("hmac = %s, want %s", got, want)
	}
	if got := kinds(recs); got != "rcr" { // a checkpoint at seal, none at close while sealed
		t.Fatalf("kinds = %s, want rcr", got)
	}
	if got := recs[2].HMAC; len(got) != 2 || got["plaintext"] != Redacted || got["token"] != Redacted {
		t.Fatalf("sealed hmac = %v, want both redacted", got)
	}
}

func TestClearKeysWipesHMACKey(t *testing.T) {
	l := newLogger(t, NewMemorySink(0), nil)
	given := []byte("0123456789abcdef")
	if err := l.SetKeys(given, newKey(t)); err != nil {
		t.Fatal(err)
	}
	held := l.keys.hmac
	l.ClearKeys()
	if !bytes.Equal(held, make([]byte, len(given))) {
		t.Fatalf("HMAC key not wiped: %x", held)
	}
	if string(given) != "0123456789abcdef" {
		t.Fatal("ClearKeys modified the caller's slice")
	}
	if l.keys.signer != nil || l.keys.hmac != nil {
		t.Fatal("keys still loaded")
	}
}

func TestSetKeysRejectsBadKeys(t *testing.T) {
	l := newLogger(t, NewMemorySink(0), nil)
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetKeys(make([]byte, MinHMACKeySize), p256); err == nil {
		t.Fatal("SetKeys accepted a P-256 key")
	}
	if err := l.SetKeys(make([]byte, MinHMACKeySize), nil); err == nil {
		t.Fatal("SetKeys accepted a nil signer")
	}
	if err := l.SetKeys(make([]byte, MinHMACKeySize-1), newKey(t)); err == nil {
		t.Fatal("SetKeys accepted a short HMAC key")
	}
}

func TestConcurrentLog(t *testing.T) {
	sink, err := OpenFileSink(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	l := newLogger(t, sink, newKey(t), WithCheckpointEvery(50))
	const workers, each = 100, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				errs <- l.Log(context.Background(), entry(w*each+i))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, sink, VerifyOptions{})
	seen := map[string]bool{}
	for _, r := range records(t, sink) {
		if r.Kind == KindRequest {
			if seen[r.RequestID] {
				t.Fatalf("request %s logged twice", r.RequestID)
			}
			seen[r.RequestID] = true
		}
	}
	if len(seen) != workers*each || rep.Records != workers*each+rep.Checkpoints || rep.Checkpoints != workers*each/50 {
		t.Fatalf("%d distinct requests, report %+v", len(seen), rep)
	}
}

func TestSinkFailure(t *testing.T) {
	for _, ambiguous := range []bool{false, true} {
		t.Run(fmt.Sprintf("ambiguous=%v", ambiguous), func(t *testing.T) {
			sink := &flakySink{MemorySink: NewMemorySink(0)}
			l := newLogger(t, sink, newKey(t), WithCheckpointEvery(4))
			logN(t, l, 0, 3)
			sink.fail.Store(true)
			sink.ambiguous.Store(ambiguous)
			err := l.Log(context.Background(), entry(3))
			if !fault.Is(err, fault.AuditFailure) || !errors.Is(err, errInjected) {
				t.Fatalf("Log on failing sink = %v", err)
			}
			sink.fail.Store(false)
			logN(t, l, 4, 3)
			rep := mustVerify(t, sink, VerifyOptions{})
			var ids []string
			for _, r := range records(t, sink) {
				ids = append(ids, r.RequestID)
			}
			// "" is a checkpoint. The failed batch held req-0003 and the
			// checkpoint it triggered; when the write landed anyway the chain
			// continues after it, otherwise it is as if it never happened.
			want := "req-0000 req-0001 req-0002 req-0004  req-0005 req-0006"
			if ambiguous {
				want = "req-0000 req-0001 req-0002 req-0003  req-0004 req-0005 req-0006"
			}
			if got := strings.Join(ids, " "); got != want {
				t.Fatalf("request ids = %q, want %q", got, want)
			}
			if rep.Checkpoints != 1 {
				t.Fatalf("report = %+v", rep)
			}
		})
	}
}

func TestSaveCheckpointFailureIsRetried(t *testing.T) {
	sink := &failingSaveSink{MemorySink: NewMemorySink(0), failures: 1}
	var reported []error
	l := newLogger(t, sink, newKey(t), WithCheckpointEvery(2), WithCheckpointInterval(0),
		WithErrorHandler(func(err error) { reported = append(reported, err) }))
	logN(t, l, 0, 2)
	if len(reported) != 1 || !errors.Is(reported[0], errInjected) {
		t.Fatalf("reported = %v", reported)
	}
	if cp, _ := sink.LoadCheckpoint(context.Background()); cp != nil {
		t.Fatal("checkpoint saved despite failure")
	}
	logN(t, l, 2, 1)
	cp, _ := sink.LoadCheckpoint(context.Background())
	if recs := records(t, sink); !bytes.Equal(cp, splitLines(export(t, sink))[2]) || kinds(recs) != "rrcr" {
		t.Fatalf("retried checkpoint = %s", cp)
	}
}

// failingSaveSink fails the first failures calls to SaveCheckpoint.
type failingSaveSink struct {
	*MemorySink
	failures int
}

func (s *failingSaveSink) SaveCheckpoint(ctx context.Context, line []byte) error {
	if s.failures > 0 {
		s.failures--
		return errInjected
	}
	return s.MemorySink.SaveCheckpoint(ctx, line)
}

func TestSignerFailureKeepsRecords(t *testing.T) {
	sink := NewMemorySink(0)
	var reported []error
	l := newLogger(t, sink, nil, WithCheckpointEvery(2),
		WithErrorHandler(func(err error) { reported = append(reported, err) }))
	if err := l.SetKeys(make([]byte, MinHMACKeySize), brokenSigner{newKey(t)}); err != nil {
		t.Fatal(err)
	}
	logN(t, l, 0, 2)
	if len(reported) != 1 || !errors.Is(reported[0], errInjected) {
		t.Fatalf("reported = %v", reported)
	}
	if err := l.Checkpoint(context.Background()); !errors.Is(err, errInjected) {
		t.Fatalf("Checkpoint = %v", err)
	}
	if rep := mustVerify(t, sink, VerifyOptions{}); rep.Records != 2 || rep.Checkpoints != 0 {
		t.Fatalf("report = %+v", rep)
	}
}

// brokenSigner has an SM2 public key but cannot sign.
type brokenSigner struct{ crypto.Signer }

func (brokenSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errInjected
}

func TestOversizedRecordRejected(t *testing.T) {
	sink := NewMemorySink(0)
	l := newLogger(t, sink, newKey(t))
	e := entry(0)
	e.Object = strings.Repeat("x", MaxLineSize)
	if err := l.Log(context.Background(), e); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("Log of oversized record = %v", err)
	}
	logN(t, l, 1, 2)
	if rep := mustVerify(t, sink, VerifyOptions{}); rep.Records != 2 {
		t.Fatalf("report = %+v", rep)
	}
}

func TestLogAfterClose(t *testing.T) {
	l := newLogger(t, NewMemorySink(0), nil)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	err := l.Log(context.Background(), entry(0))
	if !errors.Is(err, ErrClosed) || !fault.Is(err, fault.AuditFailure) {
		t.Fatalf("Log after Close = %v", err)
	}
	if err := l.Checkpoint(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Checkpoint after Close = %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

func TestLogCanceledContext(t *testing.T) {
	l := newLogger(t, NewMemorySink(0), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Either the queue or the wait sees the canceled context; both must
	// report it as an audit failure.
	if err := l.Log(ctx, entry(0)); err != nil && (!errors.Is(err, context.Canceled) || !fault.Is(err, fault.AuditFailure)) {
		t.Fatalf("Log with canceled context = %v", err)
	}
}

// slowSink takes d of clock's time for every Append.
type slowSink struct {
	Sink
	clock *clocktest.Clock
	d     time.Duration
}

func (s *slowSink) Append(ctx context.Context, lines [][]byte) error {
	s.clock.Advance(s.d)
	return s.Sink.Append(ctx, lines)
}

// TestWriteObserver: the observer hears of every batch made durable, with
// its lines and the time its write took; a batch that fails is not heard
// of.
func TestWriteObserver(t *testing.T) {
	clock := newFakeClock()
	sink := &flakySink{MemorySink: NewMemorySink(0)}
	var mu sync.Mutex
	var lines []int
	var took []time.Duration
	l := newLogger(t, &slowSink{Sink: sink, clock: clock, d: 5 * time.Millisecond}, nil,
		WithClock(clock.Now), WithCheckpointEvery(0), WithCheckpointInterval(0),
		WithWriteObserver(func(n int, d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			lines, took = append(lines, n), append(took, d)
		}))
	logN(t, l, 0, 2)
	sink.fail.Store(true)
	if err := l.Log(context.Background(), entry(2)); err == nil {
		t.Fatal("a record was logged while the sink failed")
	}
	sink.fail.Store(false)
	logN(t, l, 3, 1)
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(lines) != "[1 1 1]" || fmt.Sprint(took) != "[5ms 5ms 5ms]" {
		t.Fatalf("observed lines %v taking %v, want three batches of 1 line taking 5ms", lines, took)
	}
}
