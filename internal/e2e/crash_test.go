package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/mimacrypto/mima/sdk"
)

// TestKillDuringWrites crashes the server with SIGKILL in the middle of a
// burst of concurrent writes: after a restart every acknowledged write is
// there and the audit chain verifies.
func TestKillDuringWrites(t *testing.T) {
	const writers, acksBeforeKill = 8, 200
	dataDir := t.TempDir()
	srv := startServer(t, "--storage", "bolt", "--data-dir", dataDir)
	ctx := context.Background()
	init, err := srv.client(t, "").Sys().Init(ctx, sdk.InitRequest{Shares: 1, Threshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.client(t, "").Sys().Unseal(ctx, init.Shares[0]); err != nil {
		t.Fatal(err)
	}
	c := srv.client(t, init.RootToken)
	rule := []sdk.Rule{{Operations: []string{"policies.read"}, Objects: []string{"*"}}}

	acked := make(chan string, 1<<16)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				name := fmt.Sprintf("p-%d-%d", w, i)
				if _, err := c.Auth().PutPolicy(ctx, name, rule); err != nil {
					return // the server died under us
				}
				acked <- name
			}
		})
	}
	var want []string
	for range acksBeforeKill {
		want = append(want, <-acked)
	}
	srv.kill()
	wg.Wait()
	close(acked)
	for name := range acked {
		want = append(want, name)
	}

	srv = startServer(t, "--storage", "bolt", "--data-dir", dataDir)
	if _, err := srv.client(t, "").Sys().Unseal(ctx, init.Shares[0]); err != nil {
		t.Fatal(err)
	}
	names, err := srv.client(t, init.RootToken).Auth().ListPolicies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Writes in flight at the kill may have landed without an
	// acknowledgement; every acknowledged one must be there.
	for _, name := range want {
		if !slices.Contains(names, name) {
			t.Fatalf("acknowledged write %s was lost in the crash (%d of %d acknowledged)", name, len(names)-1, len(want))
		}
	}
	report, err := srv.client(t, init.RootToken).Sys().VerifyAudit(ctx)
	if err != nil || !report.OK {
		t.Fatalf("audit after crash: %+v, %v", report, err)
	}
	if report.Records < uint64(len(want)) {
		t.Fatalf("audit holds %d records for %d acknowledged writes", report.Records, len(want))
	}
	srv.stop()
	if r := cli(t, "", "", "audit", "verify", "--data-dir", dataDir); r.code != 0 {
		t.Fatalf("offline verify after crash: %s %s", r.stdout, r.stderr)
	}
}
