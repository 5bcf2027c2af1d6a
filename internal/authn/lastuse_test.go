package authn

import (
	"context"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/storage/inmem"
)

// lastUseNode is a service on a write-counting store with a settable
// clock, and a tenant admin token that has never been used.
func lastUseNode(t *testing.T) (*Service, *counting, *clock, Issued) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	st := &counting{Backend: inmem.New()}
	s := unsealed(st, WithClock(c.now))
	if _, err := s.Bootstrap(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	_, admin, err := s.CreateTenant(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	return s, st, c, admin
}

// TestLastUseIsCoarse: the first authentication records the token's last
// use with one write; another within LastUseGranularity writes nothing;
// one after it records the new time.
func TestLastUseIsCoarse(t *testing.T) {
	ctx := context.Background()
	s, st, c, admin := lastUseNode(t)
	stored := func() time.Time {
		t.Helper()
		tok, err := s.storedToken(ctx, admin.Info.Accessor)
		if err != nil {
			t.Fatal(err)
		}
		return tok.LastUsedAt
	}
	if !stored().IsZero() {
		t.Fatal("a new token has a last use")
	}
	steps := []struct {
		advance time.Duration
		writes  int64
		last    time.Time
	}{
		{0, 1, c.t},
		{LastUseGranularity / 2, 0, c.t},
		{LastUseGranularity / 2, 1, c.t.Add(LastUseGranularity)},
	}
	for i, step := range steps {
		c.t = c.t.Add(step.advance)
		before := st.writes.Load()
		if got := mustAuth(t, s, admin.Token); !got.LastUsedAt.Equal(step.last) {
			t.Errorf("step %d: authenticated token's last use %v, want %v", i, got.LastUsedAt, step.last)
		}
		if n := st.writes.Load() - before; n != step.writes {
			t.Errorf("step %d: %d writes, want %d", i, n, step.writes)
		}
		if got := stored(); !got.Equal(step.last) {
			t.Errorf("step %d: stored last use %v, want %v", i, got, step.last)
		}
	}
	info, err := s.LookupToken(ctx, "acme", admin.Info.Accessor)
	if err != nil || !info.LastUsedAt.Equal(steps[2].last) {
		t.Fatalf("lookup: %+v, %v", info, err)
	}
}

// TestLastUseWriteFailureIsIgnored: when the store refuses the write,
// authentication still succeeds, and the node does not try again within
// LastUseGranularity.
func TestLastUseWriteFailureIsIgnored(t *testing.T) {
	s, st, c, admin := lastUseNode(t)
	st.failWrites.Store(true)
	before := st.writes.Load()
	mustAuth(t, s, admin.Token)
	if n := st.writes.Load() - before; n != 1 {
		t.Fatalf("first use: %d writes tried, want 1", n)
	}
	c.t = c.t.Add(LastUseGranularity - time.Second)
	mustAuth(t, s, admin.Token)
	if n := st.writes.Load() - before; n != 1 {
		t.Fatalf("a failed write was tried again within the granularity: %d writes", n)
	}
	st.failWrites.Store(false)
	c.t = c.t.Add(time.Second)
	mustAuth(t, s, admin.Token)
	tok, err := s.storedToken(context.Background(), admin.Info.Accessor)
	if err != nil || !tok.LastUsedAt.Equal(c.t) {
		t.Fatalf("after the granularity: %+v, %v", tok, err)
	}
}
