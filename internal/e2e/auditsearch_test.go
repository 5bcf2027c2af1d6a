package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/sdk"
)

// TestAuditSearchCLI searches a node's audit log with the CLI: online as
// a tenant admin, a page at a time, seeing its own tenant only; offline
// over the data directory, whose older records are in sealed, compressed
// segments; and over an archive of those segments alone.
func TestAuditSearchCLI(t *testing.T) {
	dataDir := t.TempDir()
	srv := startServer(t, "--storage", "bolt", "--data-dir", dataDir, "--audit-segment-max-bytes", "2000", "--audit-checkpoint-records", "4")
	ctx := context.Background()
	res, err := srv.client(t, "").Sys().Init(ctx, sdk.InitRequest{Shares: 1, Threshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.client(t, "").Sys().Unseal(ctx, res.Shares[0]); err != nil {
		t.Fatal(err)
	}
	var acme sdk.TenantCreated
	cliJSON(t, srv.addr, res.RootToken, &acme, "tenant", "create", "acme")
	c := srv.client(t, acme.Token)
	if _, err := c.Keys().Create(ctx, sdk.CreateKeyRequest{Name: "k1", Type: "sm4"}); err != nil {
		t.Fatal(err)
	}
	const encrypts = 12
	for range encrypts {
		if _, err := c.Crypto().Encrypt(ctx, "k1", sdk.EncryptRequest{Plaintext: []byte("hi")}); err != nil {
			t.Fatal(err)
		}
	}

	// seqs walks every page of a search and returns the seqs found.
	seqs := func(addr, token string, args ...string) []uint64 {
		t.Helper()
		var out []uint64
		after := []string{}
		for range encrypts + 2 {
			var page sdk.AuditRecords
			cliJSON(t, addr, token, &page, append(append([]string{"audit", "search", "--op", "encrypt", "--limit", "5"}, args...), after...)...)
			for _, r := range page.Items {
				if r.Tenant != "acme" || r.Operation != "encrypt" || r.Object != "k1" || r.Status != 200 {
					t.Fatalf("search found %+v", r)
				}
				out = append(out, r.Seq)
			}
			if page.Next == "" {
				return out
			}
			after = []string{"--after", page.Next}
		}
		t.Fatalf("search %v does not end", args)
		return nil
	}
	online := seqs(srv.addr, acme.Token)
	if len(online) != encrypts || !slices.IsSorted(online) {
		t.Fatalf("online search found records %v, want %d in order", online, encrypts)
	}
	if r := cli(t, srv.addr, acme.Token, "audit", "search", "--tenant", "default"); r.code == 0 || !strings.Contains(r.stderr, "permission_denied") {
		t.Fatalf("a tenant admin searched another tenant: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	srv.stop()

	auditDir := filepath.Join(dataDir, "audit")
	if offline := seqs("", "", "--data-dir", dataDir, "--tenant", "acme"); !slices.Equal(offline, online) {
		t.Fatalf("offline search found %v, online %v", offline, online)
	}
	segs, err := os.ReadDir(filepath.Join(auditDir, "segments"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no sealed segments (%v): the test does not reach them", err)
	}

	// An archive: the manifest and the sealed segments, no active log.
	archive := t.TempDir()
	if err := os.CopyFS(archive, os.DirFS(auditDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(archive, "audit.log")); err != nil {
		t.Fatal(err)
	}
	archived := seqs("", "", "--archive", archive, "--tenant", "acme")
	if len(archived) == 0 || !slices.Equal(archived, online[:len(archived)]) {
		t.Fatalf("archive search found %v, want a prefix of %v", archived, online)
	}
}
