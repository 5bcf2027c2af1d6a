package server

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/kms"
)

// retirer records the tenants it is asked to retire, failing while fail
// is set.
type retirer struct {
	device.Device
	asked []string
	fail  bool
}

func (r *retirer) RetireTenant(_ context.Context, tenant string) error {
	r.asked = append(r.asked, tenant)
	if r.fail {
		return errors.New("the token is away")
	}
	return nil
}

// TestRetireDeletedTenants: a device that keeps keys for a tenant alone is
// asked to destroy them once the tenant is deleted and its keys are all
// destroyed, not before, and once only; a failure is tried again.
func TestRetireDeletedTenants(t *testing.T) {
	cfg := Defaults()
	cfg.Storage = "inmem"
	n, _ := startDev(t, cfg)
	defer n.close()
	r := &retirer{}
	n.opened = map[string]device.Device{"hsm": r}
	ctx := context.Background()
	for _, tenant := range []string{"acme", "globex"} {
		if _, _, err := n.auth.CreateTenant(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		if _, err := n.keys.Create(ctx, tenant, kms.CreateRequest{Name: "k1", Type: device.SM4}); err != nil {
			t.Fatal(err)
		}
	}
	retire := func(want ...string) {
		t.Helper()
		r.asked = nil
		n.retireTenants(ctx)
		if !slices.Equal(r.asked, want) {
			t.Fatalf("asked to retire %v, want %v", r.asked, want)
		}
	}
	retire()
	err := n.auth.DeleteTenant(ctx, "acme", func(ctx context.Context, tenant string) error {
		_, err := n.keys.ScheduleTenantDeletion(ctx, tenant)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	retire() // its key is pending deletion
	if _, err := n.keys.RunJobs(ctx, time.Now().Add((kms.DefaultDeletionDays+1)*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	r.fail = true
	retire("acme")
	r.fail = false
	retire("acme")
	retire()
}
