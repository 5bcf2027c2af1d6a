package kms

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

// TestKeyQuota: a tenant at its max_keys creates no more keys, by Create
// or Restore, even when many try at once; other tenants are not held.
func TestKeyQuota(t *testing.T) {
	limits := map[string]int64{"t1": 3}
	s, _, _ := newTestService(t, WithKeyQuota(func(_ context.Context, tenant string) (int64, error) { return limits[tenant], nil }))
	var wg sync.WaitGroup
	var mu sync.Mutex
	made := 0
	for i := range 8 {
		wg.Go(func() {
			_, err := s.Create(ctx, "t1", CreateRequest{Name: "k" + string(rune('a'+i)), Type: device.SM4, Exportable: true})
			if err == nil {
				mu.Lock()
				made++
				mu.Unlock()
				return
			}
			if fault.CodeOf(err) != fault.QuotaExceeded || !strings.Contains(err.Error(), "max_keys") {
				t.Errorf("over the quota: %v", err)
			}
		})
	}
	wg.Wait()
	if made != 3 {
		t.Fatalf("%d keys made under a quota of 3", made)
	}
	page, err := s.List(ctx, "t1", ListOptions{})
	if err != nil || len(page.Keys) != 3 {
		t.Fatalf("t1 holds %d keys (%v)", len(page.Keys), err)
	}
	pw := []byte("a long enough password")
	blob, err := s.Backup(ctx, "t1", page.Keys[0].Name, BackupRequest{Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Restore(ctx, "t1", RestoreRequest{Name: "restored", Blob: blob, Password: pw})
	wantCode(t, "restore over the quota", err, fault.QuotaExceeded)
	mustCreate(t, s, "t2", "k", device.SM4)
}
