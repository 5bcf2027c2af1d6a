package kms

import (
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/device"
)

func TestScheduleTenantDeletion(t *testing.T) {
	s, _, clk := newTestService(t)
	for _, name := range []string{"k1", "k2", "k3"} {
		mustCreate(t, s, "doomed", name, device.SM4)
	}
	mustCreate(t, s, "kept", "k1", device.SM4)
	early, err := s.ScheduleDeletion(ctx, "doomed", "k3", MinDeletionDays)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Disable(ctx, "doomed", "k2"); err != nil {
		t.Fatal(err)
	}
	n, err := s.ScheduleTenantDeletion(ctx, "doomed")
	if err != nil || n != 2 {
		t.Fatalf("scheduled %d, %v; want 2", n, err)
	}
	page, err := s.List(ctx, "doomed", ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range page.Keys {
		if k.State != PendingDeletion {
			t.Errorf("key %s is %s", k.Name, k.State)
		}
	}
	if k3, _ := s.Get(ctx, "doomed", "k3"); !k3.DeletionDate.Equal(*early.DeletionDate) {
		t.Errorf("an earlier deletion date moved: %v, was %v", k3.DeletionDate, early.DeletionDate)
	}
	// Again, as after an interruption: nothing left to schedule.
	if n, err := s.ScheduleTenantDeletion(ctx, "doomed"); err != nil || n != 0 {
		t.Fatalf("second run scheduled %d, %v", n, err)
	}
	if k, _ := s.Get(ctx, "kept", "k1"); k.State != Enabled {
		t.Fatalf("another tenant's key is %s", k.State)
	}
	rep, err := s.RunJobs(ctx, clk.Advance(DefaultDeletionDays*24*time.Hour+time.Minute))
	if err != nil || rep.Destroyed != 3 {
		t.Fatalf("jobs destroyed %d, %v; want the tenant's 3 keys", rep.Destroyed, err)
	}
}
