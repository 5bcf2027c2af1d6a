package usage

import (
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/clocktest"
)

func TestQueryGroupsAndBuckets(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	clk := clocktest.New(t0)
	m := New(WithClock(clk.Now))
	m.Record("a", "encrypt", "k1", false, 3*time.Millisecond)
	m.Record("a", "encrypt", "k1", true, 300*time.Millisecond)
	m.Record("a", "keys.list", "", false, time.Millisecond)
	m.Record("b", "encrypt", "k9", false, time.Millisecond)
	clk.Advance(Step)
	m.Record("a", "encrypt", "k2", false, time.Millisecond)

	ops := m.Query("a", t0, t0.Add(time.Hour), ByOperation)
	if len(ops) != 2 || ops[0].Name != "encrypt" || ops[0].Count != 3 || ops[0].Errors != 1 || len(ops[0].Points) != 2 {
		t.Fatalf("by operation: %+v", ops)
	}
	if p := ops[0].Points[0]; p.Count != 2 || p.P50 != 5 || p.P99 != 500 {
		t.Fatalf("first minute of encrypt: %+v", p)
	}
	keys := m.Query("a", t0, t0.Add(time.Hour), ByKey)
	if len(keys) != 2 || keys[0].Name != "k1" || keys[1].Name != "k2" {
		t.Fatalf("by key leaves out keyless calls and other tenants: %+v", keys)
	}
	if got := m.Query("a", t0.Add(Step), t0.Add(time.Hour), ByOperation); len(got) != 1 || got[0].Count != 1 {
		t.Fatalf("from the second minute: %+v", got)
	}
	if got := m.Query("", t0, t0.Add(time.Hour), ByTenant); len(got) != 2 || got[1].Name != "b" || got[1].Count != 1 {
		t.Fatalf("by tenant: %+v", got)
	}
}

func TestOldBucketsArePruned(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	clk := clocktest.New(t0)
	m := New(WithClock(clk.Now), WithKeep(time.Hour))
	m.Record("a", "encrypt", "k1", false, time.Millisecond)
	clk.Advance(2 * time.Hour)
	m.Record("a", "encrypt", "k1", false, time.Millisecond)
	if got := m.Query("a", t0, t0.Add(3*time.Hour), ByOperation); len(got) != 1 || got[0].Count != 1 {
		t.Fatalf("the bucket older than the keep window survived: %+v", got)
	}
}
