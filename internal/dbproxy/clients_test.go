package dbproxy

import (
	"os"
	"os/exec"
	"testing"
)

// TestClientsThroughProxy runs the same script with psycopg and
// node-postgres through the proxy (pgx and psql have their own tests):
// inserts (psycopg pipelines them and COPYs half), equality search on the
// deterministic and blind-index columns, update, delete; the support role
// sees masks, and every phone at rest is ciphertext.
func TestClientsThroughProxy(t *testing.T) {
	const want = "42 user 42\nuser 42\ndeleted 1\n13900000150\n138****0001\n"
	for _, client := range []struct {
		name string
		argv []string
		ok   func() bool
	}{
		{"psycopg", []string{"/usr/bin/python3", "testdata/clients.py"}, func() bool {
			return exec.Command("/usr/bin/python3", "-c", "import psycopg").Run() == nil
		}},
		{"node-postgres", []string{"node", "testdata/js/clients.js"}, func() bool {
			_, err := os.Stat("testdata/js/node_modules/pg")
			return err == nil
		}},
	} {
		t.Run(client.name, func(t *testing.T) {
			if !client.ok() {
				t.Skipf("%s is not installed (scripts/test installs it)", client.name)
			}
			f := start(t)
			cmd := exec.Command(client.argv[0], client.argv[1:]...)
			cmd.Env = append(os.Environ(), "PROXY="+f.as(f.billing), "SUPPORT="+f.as(f.support))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if string(out) != want {
				t.Errorf("printed %q, want %q", out, want)
			}
			d := connect(t, f.direct)
			if got := one(t, d, "SELECT count(*)::text FROM customers WHERE phone NOT LIKE 'mf1d.%' OR name NOT LIKE 'mf1r.%' OR name_bidx NOT LIKE 'mf1b.%'"); got[0] != "0" {
				t.Errorf("%s rows hold plaintext", got[0])
			}
			if got := one(t, d, "SELECT count(*)::text FROM customers"); got[0] != "199" {
				t.Errorf("%s rows", got[0])
			}
		})
	}
}
