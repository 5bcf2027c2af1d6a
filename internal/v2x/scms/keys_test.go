package scms

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
)

// failingKeys is a key service that cannot create the keys whose names
// end with suffix: their device is unavailable.
type failingKeys struct {
	Keys
	suffix string
}

func (f failingKeys) Create(ctx context.Context, tenant string, req kms.CreateRequest) (kms.KeyInfo, error) {
	if strings.HasSuffix(req.Name, f.suffix) {
		return kms.KeyInfo{}, fault.New(fault.DeviceUnavailable, "the device cannot be reached")
	}
	return f.Keys.Create(ctx, tenant, req)
}

// TestDeploymentSurvivesAKeyServiceFailure: a key service failure while a
// deployment is created reaches the caller unchanged and leaves no
// deployment; created again once the key service works, the deployment
// reuses the keys already made.
func TestDeploymentSurvivesAKeyServiceFailure(t *testing.T) {
	c := clocktest.New(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	s, st := newService(t, c)
	failing := New(failingKeys{Keys: s.keys, suffix: "-la-lci"}, WithClock(c.Now))
	if err := failing.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	req := DeploymentRequest{Name: "cn", Tenants: testTenants}
	_, err := failing.CreateDeployment(ctx, req)
	if !fault.Is(err, fault.DeviceUnavailable) {
		t.Fatalf("CreateDeployment with the device down = %v; want device_unavailable", err)
	}
	if _, err := s.Get(ctx, "cn"); !fault.Is(err, fault.DeploymentNotFound) {
		t.Fatalf("Get after the failure = %v; want v2x_deployment_not_found", err)
	}
	if _, err := s.CreateDeployment(ctx, req); err != nil {
		t.Fatalf("CreateDeployment once the device is back: %v", err)
	}
}
