package server

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/audit"
)

// auditNode assembles and starts a development node on bolt whose audit
// log lives in dir/audit and whose checkpoints go to the witness file
// dir/witness.jsonl. Checkpoints by count and time are out of the way, so
// only the seal and the shutdown sign them. It returns the root token.
func auditNode(t *testing.T, dir string) (*node, string) {
	t.Helper()
	cfg := Defaults()
	cfg.Storage, cfg.DataDir = "bolt", dir
	cfg.AuditCheckpointRecords = 0
	cfg.AuditCheckpointInterval = 24 * time.Hour
	cfg.AuditWitnesses = []string{filepath.Join(dir, "witness.jsonl")}
	return startDev(t, cfg)
}

// startDev assembles and starts cfg as a development node (initialised
// and unsealed) and returns it with its root token.
func startDev(t *testing.T, cfg Config) (*node, string) {
	t.Helper()
	cfg.Dev = true
	n, err := assemble(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := n.start(context.Background(), &out); err != nil {
		n.close()
		t.Fatal(err)
	}
	m := regexp.MustCompile(`root token:\s+(\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		n.close()
		t.Fatalf("no root token in %q", out.String())
	}
	return n, m[1]
}

// call sends one request to the node's API and checks its status.
func call(t *testing.T, n *node, token, method, path string, want int) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	n.api.ServeHTTP(rec, req)
	if rec.Code != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, rec.Code, rec.Body, want)
	}
}

// verifyWithWitness verifies dir/audit against the witness file.
func verifyWithWitness(t *testing.T, dir string) audit.Report {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "witness.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kept, err := audit.ReadWitness(f)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.VerifyDir(context.Background(), filepath.Join(dir, "audit"), audit.VerifyOptions{Witnessed: kept[""]})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestShutdownAnchorsAuditTail closes a node cleanly after some requests:
// the log must end with a checkpoint that the witness kept too.
func TestShutdownAnchorsAuditTail(t *testing.T) {
	dir := t.TempDir()
	n, root := auditNode(t, dir)
	for range 3 {
		call(t, n, root, http.MethodGet, "/v1/tokens/self", http.StatusOK)
	}
	n.close()
	rep := verifyWithWitness(t, dir)
	if !rep.OK || rep.AfterCheckpoint != 0 || rep.ExternalSeq != rep.LastCheckpointSeq || rep.LastCheckpointSeq == 0 {
		t.Fatalf("after a clean shutdown: %+v, want every record before a witnessed checkpoint", rep)
	}
}

// TestSealAnchorsAuditTail seals a node through the API: everything before
// the seal must be covered by a witnessed checkpoint, leaving only the
// seal's own record after it.
func TestSealAnchorsAuditTail(t *testing.T) {
	dir := t.TempDir()
	n, root := auditNode(t, dir)
	defer n.close()
	for range 3 {
		call(t, n, root, http.MethodGet, "/v1/tokens/self", http.StatusOK)
	}
	call(t, n, root, http.MethodPost, "/v1/sys/seal", http.StatusOK)
	rep := verifyWithWitness(t, dir)
	if !rep.OK || rep.AfterCheckpoint != 1 || rep.ExternalSeq != rep.LastCheckpointSeq || rep.LastCheckpointSeq < 4 {
		t.Fatalf("after seal: %+v, want only the seal record after a witnessed checkpoint", rep)
	}
}

// TestBadWitnessRefused checks that a witness target that cannot be used
// stops the start with an error naming the setting.
func TestBadWitnessRefused(t *testing.T) {
	cfg := Defaults()
	cfg.Dev, cfg.Storage, cfg.DataDir = true, "bolt", t.TempDir()
	cfg.AuditWitnesses = []string{"relative/witness.jsonl"}
	n, err := assemble(context.Background(), cfg)
	if err == nil {
		n.close()
		t.Fatal("assemble accepted a relative witness path")
	}
	if !strings.Contains(err.Error(), "audit_witnesses") {
		t.Fatalf("error %q does not name audit_witnesses", err)
	}
}

// TestAuditWriteMetrics: /metrics counts the audit log's durable batches
// and their lines, at least one batch and one line per audited request.
func TestAuditWriteMetrics(t *testing.T) {
	n, root := auditNode(t, t.TempDir())
	defer n.close()
	for range 3 {
		call(t, n, root, http.MethodGet, "/v1/tokens/self", http.StatusOK)
	}
	rec := httptest.NewRecorder()
	n.api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, name := range []string{"mima_audit_write_seconds_count", "mima_audit_batch_lines_sum"} {
		m := regexp.MustCompile(`(?m)^` + name + ` (\d+)$`).FindStringSubmatch(rec.Body.String())
		if m == nil {
			t.Fatalf("/metrics has no %s:\n%s", name, rec.Body)
		}
		if got, _ := strconv.Atoi(m[1]); got < 3 {
			t.Errorf("%s = %d after three audited requests, want at least 3", name, got)
		}
	}
}
