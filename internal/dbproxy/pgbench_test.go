package dbproxy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPgbenchThroughProxy runs pgbench's TPC-B-like script, and a custom
// script that writes and searches an encrypted column, through the proxy
// in the simple and extended protocols. Speed is measured by
// scripts/bench-dbproxy (docs/dbproxy.md), not asserted here.
func TestPgbenchThroughProxy(t *testing.T) {
	if _, err := exec.LookPath("pgbench"); err != nil {
		t.Skip("pgbench is not installed")
	}
	f := start(t)
	script := filepath.Join(t.TempDir(), "encrypted.sql")
	if err := os.WriteFile(script, []byte(`\set id random(1, 1000000)
INSERT INTO customers (id, phone, name) VALUES (:id, '138' || :id, 'name ' || :id) ON CONFLICT DO NOTHING;
SELECT id FROM customers WHERE phone = '13800000001';
UPDATE customers SET phone = '13912345678' WHERE id = :id;
`), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("pgbench", append(args, f.proxy)...).CombinedOutput()
		if err != nil {
			t.Fatalf("pgbench %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("-i", "-q", "-s", "1")
	for _, mode := range []string{"simple", "extended"} {
		if out := run("-n", "-c", "2", "-t", "20", "-M", mode); !strings.Contains(out, "number of transactions actually processed: 40/40") {
			t.Errorf("TPC-B-like, %s:\n%s", mode, out)
		}
	}
	// pgbench substitutes :id into the text; '138' || :id is an
	// expression the proxy refuses, so the script gives literals.
	out, err := exec.Command("pgbench", "-n", "-c", "2", "-t", "20", "-f", script, f.proxy).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "customers.phone is encrypted") {
		t.Errorf("an expression for an encrypted column was not refused:\n%s", out)
	}
	if err := os.WriteFile(script, []byte(`\set id random(1, 1000000)
INSERT INTO customers (id, phone, name) VALUES (:id, '13800000001', 'Name') ON CONFLICT DO NOTHING;
SELECT id FROM customers WHERE phone = '13800000001';
UPDATE customers SET phone = '13912345678', name = 'Other' WHERE id = :id;
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"simple", "extended"} {
		if out := run("-n", "-c", "2", "-t", "20", "-M", mode, "-f", script); !strings.Contains(out, "number of transactions actually processed: 40/40") {
			t.Errorf("encrypted columns, %s:\n%s", mode, out)
		}
	}
	d := connect(t, f.direct)
	if got := one(t, d, "SELECT count(*)::text FROM customers WHERE phone NOT LIKE 'mf1d.%' OR name NOT LIKE 'mf1r.%'"); got[0] != "0" {
		t.Errorf("%s rows hold plaintext", got[0])
	}
	if got := one(t, d, "SELECT (count(*) > 0)::text FROM customers"); got[0] != "true" {
		t.Error("pgbench wrote no rows")
	}
}

// BenchmarkPgbenchDefault runs pgbench's TPC-B-like script through the
// proxy, b.N transactions over 4 clients, so that -cpuprofile and
// -memprofile show what the proxy spends per message on SQL naming no
// protected table (scripts/bench-dbproxy measures the ratio to direct).
func BenchmarkPgbenchDefault(b *testing.B) {
	if _, err := exec.LookPath("pgbench"); err != nil {
		b.Skip("pgbench is not installed")
	}
	f := start(b)
	if out, err := exec.Command("pgbench", "-i", "-q", "-s", "1", f.direct).CombinedOutput(); err != nil {
		b.Fatalf("pgbench -i: %v\n%s", err, out)
	}
	const clients = 4
	b.ResetTimer()
	out, err := exec.Command("pgbench", "-n", "-c", strconv.Itoa(clients), "-j", "2", "-t", strconv.Itoa(max(b.N/clients, 1)), f.proxy).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "number of failed transactions: 0") {
		b.Fatalf("pgbench: %v\n%s", err, out)
	}
}
