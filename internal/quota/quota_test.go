package quota

import (
	"context"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage/inmem"
)

var ctx = context.Background()

func newService(t *testing.T) (*Service, *inmem.Backend, *clocktest.Clock) {
	t.Helper()
	clk := clocktest.New(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	s := New(clk.Now)
	st := inmem.New()
	if err := s.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	return s, st, clk
}

func TestAllow(t *testing.T) {
	s, _, clk := newService(t)
	if wait, err := s.Allow(ctx, "t1"); wait != 0 || err != nil {
		t.Fatalf("no quota: %v %v", wait, err)
	}
	if err := s.Set(ctx, "t1", Quota{OpsPerSec: 2}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.Allow(ctx, "t1"); err != nil {
			t.Fatal(err)
		}
	}
	wait, err := s.Allow(ctx, "t1")
	if fault.CodeOf(err) != fault.QuotaExceeded || wait <= 0 || wait > time.Second {
		t.Fatalf("past the quota: %v %v", wait, err)
	}
	// A purge (another node may have changed it) keeps the bucket.
	s.Purge()
	if _, err := s.Allow(ctx, "t1"); err == nil {
		t.Fatal("a purge refilled the bucket")
	}
	clk.Advance(wait)
	if _, err := s.Allow(ctx, "t1"); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	if _, err := s.Allow(ctx, "t2"); err != nil {
		t.Fatalf("another tenant is held: %v", err)
	}
}

// TestForget: a change stored by another node shows once the coherence
// notice arrives.
func TestForget(t *testing.T) {
	s, st, _ := newService(t)
	if q, err := s.Get(ctx, "t1"); err != nil || q != (Quota{}) {
		t.Fatalf("no quota: %+v %v", q, err)
	}
	if err := st.Put(ctx, "quotas/t1", []byte(`{"ops_per_sec":5,"max_keys":7}`)); err != nil {
		t.Fatal(err)
	}
	if q, _ := s.Get(ctx, "t1"); q != (Quota{}) {
		t.Fatal("the cache was not used")
	}
	s.Forget("t/t1/keys/k")
	if q, _ := s.Get(ctx, "t1"); q != (Quota{}) {
		t.Fatal("an unrelated path dropped the quota")
	}
	s.Forget("quotas/t1")
	if n, err := s.MaxKeys(ctx, "t1"); err != nil || n != 7 {
		t.Fatalf("after Forget: %d %v", n, err)
	}
}

func TestSetRefusesAndSealed(t *testing.T) {
	s, st, _ := newService(t)
	for _, q := range []Quota{{OpsPerSec: -1}, {MaxKeys: -1}, {OpsPerSec: MaxOpsPerSec + 1}, {MaxKeys: MaxMaxKeys + 1}} {
		if err := s.Set(ctx, "t1", q); fault.CodeOf(err) != fault.InvalidArgument {
			t.Errorf("Set(%+v): %v", q, err)
		}
	}
	if keys, _ := st.List(ctx, "", "", 0); len(keys) != 0 {
		t.Fatalf("a refused quota was stored: %v", keys)
	}
	if err := st.Put(ctx, "quotas/bad", []byte("{")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "bad"); fault.CodeOf(err) != fault.Internal {
		t.Fatalf("a corrupt record: %v", err)
	}
	s.Sealed()
	if _, err := s.Allow(ctx, "t1"); fault.CodeOf(err) != fault.Sealed {
		t.Fatalf("sealed: %v", err)
	}
}
