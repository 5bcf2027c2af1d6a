package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/sdk"
)

// TestAuditWitnessCatchesCutTail runs a node with a file witness, stops it
// cleanly (which signs and witnesses a final checkpoint), then cuts the
// log's tail and rolls back checkpoint.json as someone holding the data
// disk could: verification passes without the witness and names the cut
// with it.
func TestAuditWitnessCatchesCutTail(t *testing.T) {
	dataDir := t.TempDir()
	witness := filepath.Join(t.TempDir(), "witness.jsonl")
	srv := startServer(t, "--dev", "--storage", "bolt", "--data-dir", dataDir, "--audit-witness", witness, "--audit-checkpoint-records", "2")
	var root string
	for _, line := range srv.banner {
		if tok, ok := strings.CutPrefix(line, "root token:"); ok {
			root = strings.TrimSpace(tok)
		}
	}
	if root == "" {
		t.Fatalf("no root token in %q", srv.banner)
	}
	for range 3 {
		if r := cli(t, srv.addr, root, "token", "lookup"); r.code != 0 {
			t.Fatalf("token lookup: exit %d %s", r.code, r.stderr)
		}
	}
	var online sdk.AuditReport
	cliJSON(t, srv.addr, root, &online, "audit", "verify", "--witness", witness)
	if !online.OK || online.ExternalCheckpointSeq == 0 || online.ExternalCheckpointSeq > online.Records {
		t.Fatalf("online verify against the witness: %+v", online)
	}
	srv.stop()

	var offline sdk.AuditReport
	cliJSON(t, "", "", &offline, "audit", "verify", "--data-dir", dataDir, "--witness", witness)
	if !offline.OK || offline.AfterCheckpoint != 0 || offline.ExternalCheckpointSeq != offline.Records {
		t.Fatalf("after a clean stop: %+v, want the log to end with a witnessed checkpoint", offline)
	}

	logPath := filepath.Join(dataDir, "audit", "audit.log")
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(bytes.TrimSuffix(log, []byte("\n")), []byte("\n"))
	if err := os.WriteFile(logPath, bytes.Join(lines[:len(lines)-2], nil), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dataDir, "audit", "checkpoint.json")); err != nil {
		t.Fatal(err)
	}
	if r := cli(t, "", "", "audit", "verify", "--data-dir", dataDir); r.code != 0 || !strings.Contains(r.stdout, "After last checkpoint") {
		t.Fatalf("cut log without the witness: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	r := cli(t, "", "", "audit", "verify", "--data-dir", dataDir, "--witness", witness)
	if r.code != 2 || !strings.Contains(r.stdout, "log truncated") {
		t.Fatalf("cut log with the witness: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
}
