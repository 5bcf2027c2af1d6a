package dbproxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mimacrypto/mima/internal/storage/postgres/pgtest"
	"github.com/mimacrypto/mima/sdk/fieldcrypt"
	"github.com/mimacrypto/mima/sdk/fieldcrypt/fieldcrypttest"
)

// downKeys is a key service that can be taken down, as when mima is
// unreachable.
type downKeys struct {
	fieldcrypttest.Keys
	down atomic.Bool
}

var errDown = errors.New("mima unreachable")

func (k *downKeys) DataKey(ctx context.Context, key string) ([]byte, string, error) {
	if k.down.Load() || key == "missing" {
		return nil, "", errDown
	}
	return k.Keys.DataKey(ctx, key)
}

func (k *downKeys) Unwrap(ctx context.Context, key, wrapped string) ([]byte, error) {
	if k.down.Load() {
		return nil, errDown
	}
	return k.Keys.Unwrap(ctx, key, wrapped)
}

func (k *downKeys) FieldKey(ctx context.Context, key, purpose string, version int) ([]byte, int, error) {
	if k.down.Load() || key == "missing" {
		return nil, 0, errDown
	}
	return k.Keys.FieldKey(ctx, key, purpose, version)
}

// fixture is a proxy in front of a fresh database, with two roles.
type fixture struct {
	direct, proxy string // DSNs
	billing       string // sees plaintext
	support       string // sees masks
	keys          *downKeys
	codec         *fieldcrypt.Codec
	rules         *Rules
}

func start(t testing.TB, opts ...func(*Proxy)) *fixture {
	t.Helper()
	return startOn(t, pgtest.Database(t), opts...)
}

// startOn is start on the database direct names, which its user may
// administer.
func startOn(t testing.TB, direct string, opts ...func(*Proxy)) *fixture {
	t.Helper()
	ctx := context.Background()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	f := &fixture{direct: direct, billing: "billing_" + hex.EncodeToString(suffix), support: "support_" + hex.EncodeToString(suffix),
		keys: &downKeys{Keys: fieldcrypttest.Keys{Seed: "dbproxy"}}}
	admin := connect(t, direct)
	for _, r := range []string{f.billing, f.support} {
		execSQL(t, admin, "CREATE ROLE "+r+" LOGIN")
		t.Cleanup(func() {
			a, err := pgx.Connect(context.Background(), direct)
			if err == nil {
				_, _ = a.Exec(context.Background(), "DROP OWNED BY "+r+"; DROP ROLE "+r)
				a.Close(context.Background())
			}
		})
	}
	rules, err := ParseRules(fmt.Appendf(nil, `columns:
  - {table: customers, column: phone, key: pii, mode: deterministic, plaintext_roles: [%[1]s], mask_roles: [%[2]s], mask: "3*4"}
  - {table: customers, column: name, key: pii, mode: blind-index, plaintext_roles: [%[1]s], mask_roles: [%[2]s], mask: name}
  - {table: customers, column: note, key: notes, mode: randomized, plaintext_roles: [%[1]s]}
`, f.billing, f.support))
	if err != nil {
		t.Fatal(err)
	}
	f.rules = rules
	f.codec = fieldcrypt.New(f.keys, fieldcrypt.Limits{}, nil)
	if err := rules.CheckKeys(ctx, f.keys); err != nil {
		t.Fatal(err)
	}
	up, err := ParseUpstream(direct)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	p := &Proxy{Rules: rules, Codec: f.codec, Upstream: up}
	for _, o := range opts {
		o(p)
	}
	go func() { served <- p.Serve(pctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	u, _ := url.Parse(direct)
	u.Host = ln.Addr().String()
	f.proxy = u.String()
	execSQL(t, connect(t, f.proxy), `CREATE TABLE customers (id int PRIMARY KEY, phone text, name text, name_bidx text, note text);
		GRANT ALL ON customers TO `+f.billing+`, `+f.support)
	return f
}

// as is the DSN of the proxy for a database user.
func (f *fixture) as(user string) string {
	u, _ := url.Parse(f.proxy)
	u.User = url.User(user)
	return u.String()
}

func connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func execSQL(t testing.TB, c *pgx.Conn, sql string, args ...any) pgconn.CommandTag {
	t.Helper()
	tag, err := c.Exec(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return tag
}

func one(t *testing.T, c *pgx.Conn, sql string, args ...any) []string {
	t.Helper()
	rows, err := c.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var s *string
		err := r.Scan(&s)
		if s == nil {
			return "NULL", err
		}
		return *s, err
	})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return got
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func TestPgxThroughProxy(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := connect(t, f.as(f.billing))
	execSQL(t, c, "INSERT INTO customers (id, phone, name, note) VALUES ($1, $2, $3, $4)", 1, "13812345678", "Zhang San", "vip")
	execSQL(t, c, "INSERT INTO customers (id, phone, name, note) VALUES (2, '13900001111', 'Li Si', 'new'), (3, '13900002222', NULL, NULL)")
	copied, err := c.PgConn().CopyFrom(ctx, strings.NewReader("4\t13700004444\tcopied\\ttab\n5\t\\N\t\\N\n"), "COPY customers (id, phone, note) FROM STDIN")
	if err != nil || copied.RowsAffected() != 2 {
		t.Fatalf("COPY: %v %v", copied, err)
	}

	// At rest: ciphertext, the same bytes fieldcrypt (and so mima bulk) makes.
	d := connect(t, f.direct)
	var phone, name, bidx, note string
	if err := d.QueryRow(ctx, "SELECT phone, name, name_bidx, note FROM customers WHERE id = 1").Scan(&phone, &name, &bidx, &note); err != nil {
		t.Fatal(err)
	}
	want, err := f.codec.Encrypt(ctx, &f.rules.Lookup("customers", "phone").field, []byte("13812345678"))
	if err != nil || phone != string(want) {
		t.Errorf("stored phone %q, fieldcrypt gives %q (%v)", phone, want, err)
	}
	for v, mark := range map[string]string{name: fieldcrypt.MarkRandomized, bidx: fieldcrypt.MarkIndex, note: fieldcrypt.MarkRandomized} {
		if !strings.HasPrefix(v, mark) {
			t.Errorf("stored %q lacks %s", v, mark)
		}
	}
	if got := one(t, d, "SELECT count(*)::text FROM customers WHERE phone LIKE '1%' OR note LIKE 'copied%' OR note = 'vip'"); got[0] != "0" {
		t.Errorf("%s rows hold plaintext", got[0])
	}

	// Reads by role, equality on the deterministic and blind-index columns.
	if got := one(t, c, "SELECT note FROM customers WHERE phone = $1", "13700004444"); len(got) != 1 || got[0] != "copied\ttab" {
		t.Errorf("billing by phone: %q", got)
	}
	if got := one(t, c, "SELECT phone AS p FROM customers WHERE name = $1", "  zhang   SAN"); len(got) != 1 || got[0] != "13812345678" {
		t.Errorf("billing by blind index: %q", got)
	}
	if got := one(t, c, "SELECT phone FROM customers WHERE phone = '13900001111'", pgx.QueryExecModeSimpleProtocol); len(got) != 1 || got[0] != "13900001111" {
		t.Errorf("simple protocol literal: %q", got)
	}
	s := connect(t, f.as(f.support))
	if got := one(t, s, "SELECT phone FROM customers WHERE id = 1"); got[0] != "138****5678" {
		t.Errorf("support sees %q", got)
	}
	if got := one(t, s, "SELECT name FROM customers WHERE id = 1"); got[0] != "Z********" {
		t.Errorf("support sees name %q", got)
	}
	if got := one(t, s, "SELECT note FROM customers WHERE id = 1"); !strings.HasPrefix(got[0], fieldcrypt.MarkRandomized) {
		t.Errorf("a role without rights sees %q, not the stored value", got)
	}

	// Update and delete through equality.
	execSQL(t, c, "UPDATE customers SET phone = $1, name = $2 WHERE phone = $3", "13811112222", "Wang Wu", "13812345678")
	if got := one(t, c, "SELECT name FROM customers WHERE phone = $1", "13811112222"); len(got) != 1 || got[0] != "Wang Wu" {
		t.Errorf("after update: %q", got)
	}
	if tag := execSQL(t, c, "DELETE FROM customers WHERE name = $1", "wang wu"); tag.RowsAffected() != 1 {
		t.Errorf("delete by blind index: %v", tag)
	}

	// What cannot be answered on ciphertext is refused, and the session
	// goes on; server errors keep their SQLSTATE.
	for _, q := range []string{
		"SELECT id FROM customers WHERE phone LIKE '138%'",
		"SELECT id FROM customers WHERE note = 'vip'",
		"SELECT id FROM customers ORDER BY phone",
		"INSERT INTO customers VALUES (9, '1')",
	} {
		if _, err := c.Exec(ctx, q); sqlState(err) != stateRefused {
			t.Errorf("%s: %v, want SQLSTATE %s", q, err, stateRefused)
		}
	}
	if _, err := c.Exec(ctx, "SELECT * FROM no_such_table"); sqlState(err) != "42P01" {
		t.Errorf("server error: %v", err)
	}
	if got := one(t, c, "SELECT count(*)::text FROM customers"); got[0] != "4" {
		t.Errorf("count %q", got)
	}
}

func TestMimaDownWritesNoPlaintext(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := connect(t, f.as(f.billing))
	execSQL(t, c, "INSERT INTO customers (id, phone) VALUES ($1, $2)", 1, "13812345678")
	f.keys.down.Store(true)
	// The deterministic key is cached: phone still works.
	execSQL(t, c, "INSERT INTO customers (id, phone) VALUES ($1, $2)", 2, "13812345679")
	// note's key was never fetched: refused, nothing written.
	if _, err := c.Exec(ctx, "INSERT INTO customers (id, note) VALUES ($1, $2)", 3, "secret"); sqlState(err) != stateKeys {
		t.Errorf("insert with mima down: %v, want %s", err, stateKeys)
	}
	if _, err := c.PgConn().CopyFrom(ctx, strings.NewReader("4\tsecret\n"), "COPY customers (id, note) FROM STDIN"); err == nil {
		t.Error("COPY with mima down succeeded")
	}
	if _, err := c.Exec(ctx, "INSERT INTO customers (id, note) VALUES (5, 'secret')", pgx.QueryExecModeSimpleProtocol); sqlState(err) != stateKeys {
		t.Errorf("simple insert with mima down: %v", err)
	}
	if got := one(t, c, "SELECT phone FROM customers WHERE phone = $1", "13812345679"); len(got) != 1 {
		t.Errorf("cached key: %q", got)
	}
	d := connect(t, f.direct)
	if got := one(t, d, "SELECT string_agg(id::text, ',' ORDER BY id) FROM customers"); got[0] != "1,2" {
		t.Errorf("rows %q", got)
	}
}

func TestRulesNamingMissingKeys(t *testing.T) {
	r, err := ParseRules([]byte(`{columns: [{table: t, column: c, key: missing, mode: deterministic}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CheckKeys(context.Background(), &downKeys{}); !errors.Is(err, errDown) {
		t.Errorf("CheckKeys: %v", err)
	}
}

func TestPsqlThroughProxy(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql is not installed")
	}
	f := start(t)
	script := `INSERT INTO customers (id, phone) VALUES (1, '13812345678');
COPY customers (id, phone) FROM STDIN;
2	13912345678
\.
SELECT phone FROM customers WHERE phone = '13912345678';
SELECT phone FROM customers ORDER BY id;
COPY customers (id, phone) TO STDOUT;
`
	cmd := exec.Command("psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", f.as(f.support))
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	if got, want := string(out), "INSERT 0 1\nCOPY 1\n139****5678\n138****5678\n139****5678\n1\t138****5678\n2\t139****5678\n"; got != want {
		t.Errorf("psql printed %q, want %q", got, want)
	}
}

// TestRefusalAbortsTheTransaction: a statement the proxy refuses fails
// like one PostgreSQL refuses, so the transaction (explicit, or the
// implicit one of an extended-protocol batch) does not commit what came
// before it.
func TestRefusalAbortsTheTransaction(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := connect(t, f.as(f.billing))
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO customers (id) VALUES (10)", mode); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SELECT id FROM customers WHERE phone LIKE '1%'", mode); sqlState(err) != stateRefused {
			t.Fatalf("refusal: %v", err)
		}
		if _, err := tx.Exec(ctx, "SELECT 1", mode); sqlState(err) != "25P02" {
			t.Errorf("mode %v: after a refusal the transaction goes on (%v)", mode, err)
		}
		_ = tx.Rollback(ctx)
	}
	b := &pgx.Batch{}
	b.Queue("INSERT INTO customers (id) VALUES (11)")
	b.Queue("SELECT id FROM customers WHERE note = $1", "x")
	if err := c.SendBatch(ctx, b).Close(); sqlState(err) != stateRefused {
		t.Errorf("batch: %v", err)
	}
	if got := one(t, connect(t, f.direct), "SELECT count(*)::text FROM customers"); got[0] != "0" {
		t.Errorf("%s rows committed around a refusal", got[0])
	}
}

// TestStoredValueThatDoesNotDecrypt: a value altered at rest fails the
// query with data_corrupted, and the session goes on.
func TestStoredValueThatDoesNotDecrypt(t *testing.T) {
	f := start(t)
	execSQL(t, connect(t, f.direct), "INSERT INTO customers (id, phone) VALUES (1, 'mf1d.AAAAAAAAAAAAAAAAAAAAAAAAAAAA'), (2, NULL)")
	c := connect(t, f.as(f.billing))
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		rows, err := c.Query(context.Background(), "SELECT phone FROM customers ORDER BY id", mode)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
		}
		if sqlState(err) != "XX001" {
			t.Errorf("mode %v: %v", mode, err)
		}
		if got := one(t, c, "SELECT count(*)::text FROM customers", mode); got[0] != "2" {
			t.Errorf("after the error: %q", got)
		}
	}
}

func pgxConnect(dsn string) (*pgx.Conn, error) { return pgx.Connect(context.Background(), dsn) }

// TestCancelRequest: pgx's cancel request, sent to the proxy, reaches the
// server and cancels the running query.
func TestCancelRequest(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := connect(t, f.as(f.billing))
	pid := one(t, c, "SELECT pg_backend_pid()::text")[0]
	done := make(chan error, 1)
	go func() {
		_, err := c.Exec(ctx, "SELECT pg_sleep(60)")
		done <- err
	}()
	d := connect(t, f.direct)
	for {
		var active bool
		if err := d.QueryRow(ctx, "SELECT count(*) > 0 FROM pg_stat_activity WHERE pid = $1::int AND query LIKE '%pg_sleep%' AND state = 'active'", pid).Scan(&active); err != nil {
			t.Fatal(err)
		}
		if active {
			break
		}
	}
	if err := c.PgConn().CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; sqlState(err) != "57014" {
		t.Errorf("cancelled query: %v", err)
	}
}
