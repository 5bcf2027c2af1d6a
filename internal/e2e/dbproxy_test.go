package e2e

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mimacrypto/mima/internal/storage/postgres/pgtest"
)

// TestDBProxy runs mima dbproxy against a dev server and PostgreSQL: it
// refuses rules naming a missing key; through it, values are stored as the
// same bytes mima bulk makes, and a client giving a mima token sees what
// the token's policy may see; and once mima is killed, what the data-key
// cache holds still works while a column whose key it lacks fails with a
// clear error and writes nothing.
func TestDBProxy(t *testing.T) {
	srv, root := devServer(t)
	for _, k := range []string{"pii", "mail"} {
		if r := cli(t, srv.addr, root, "key", "create", k, "--derived"); r.code != 0 {
			t.Fatalf("keys create %s: %s", k, r.stderr)
		}
	}
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	db := pgtest.Database(t)

	bad := write("bad.yaml", "columns: [{table: customers, column: phone, key: nope, mode: deterministic}]\n")
	if r := cli(t, srv.addr, root, "dbproxy", "--listen", "127.0.0.1:0", "--upstream", db, "--rules", bad); r.code == 0 || !strings.Contains(r.stderr, `key "nope"`) {
		t.Fatalf("rules naming a missing key: exit %d: %s", r.code, r.stderr)
	}

	rules := write("rules.yaml", `columns:
  - {table: customers, column: phone, key: pii, mode: deterministic, plaintext_roles: [root]}
  - {table: customers, column: email, key: mail, mode: deterministic, plaintext_roles: [postgres]}
`)
	proxy := startProcess(t, "dbproxy", "--address", srv.addr, "--token", root, "--listen", "127.0.0.1:0", "--upstream", db, "--rules", rules)
	u, _ := url.Parse(db)
	u.Host = proxy.addr
	ctx := context.Background()
	plain, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close(ctx)
	// The root token's policy, root, may see phone in the clear.
	q := u.Query()
	q.Set("mima_token", root)
	u.RawQuery = q.Encode()
	c, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for _, q := range []string{
		"CREATE TABLE customers (id int PRIMARY KEY, phone text, email text)",
		"INSERT INTO customers (id, phone) VALUES (1, '13812345678')",
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	// The same bytes as mima bulk encrypt with the same settings.
	fields := write("fields.yaml", "fields: [{column: phone, key: pii, mode: deterministic}]\n")
	in, out := write("in.csv", "phone\n13812345678\n"), filepath.Join(dir, "out.csv")
	if r := cli(t, srv.addr, root, "bulk", "encrypt", "--config", fields, "--csv", in, "--out", out, "--checkpoint", filepath.Join(dir, "ckpt")); r.code != 0 {
		t.Fatalf("bulk: %s", r.stderr)
	}
	bulk, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	d, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	var stored string
	if err := d.QueryRow(ctx, "SELECT phone FROM customers WHERE id = 1").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimPrefix(strings.TrimSpace(string(bulk)), "phone\n"); stored != want {
		t.Errorf("proxy stored %q, mima bulk wrote %q", stored, want)
	}

	var seen string
	if err := plain.QueryRow(ctx, "SELECT phone FROM customers WHERE id = 1").Scan(&seen); err != nil || seen != stored {
		t.Errorf("without the token the database user sees %q, not what is stored (%v)", seen, err)
	}

	srv.kill()
	// The phone key is cached: equality search and writes go on.
	var phone string
	if err := c.QueryRow(ctx, "SELECT phone FROM customers WHERE phone = $1", "13812345678").Scan(&phone); err != nil || phone != "13812345678" {
		t.Errorf("with mima down, cached key: %q %v", phone, err)
	}
	if _, err := c.Exec(ctx, "INSERT INTO customers (id, phone) VALUES ($1, $2)", 2, "13900001111"); err != nil {
		t.Errorf("with mima down, cached key: %v", err)
	}
	// The email key never was: refused, nothing written.
	_, err = c.Exec(ctx, "INSERT INTO customers (id, email) VALUES ($1, $2)", 3, "a@example.com")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "58000" || strings.Contains(pe.Message, "a@example.com") {
		t.Errorf("with mima down, uncached key: %v", err)
	}
	var n int
	if err := d.QueryRow(ctx, "SELECT count(*) FROM customers WHERE id = 3 OR phone LIKE '1%' OR email LIKE '%@%'").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d rows hold plaintext (%v)", n, err)
	}
}
