package bulk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mimacrypto/mima/internal/storage/postgres/pgtest"
	"github.com/mimacrypto/mima/sdk/fieldcrypt"
	"github.com/mimacrypto/mima/sdk/fieldcrypt/fieldcrypttest"
)

// person is a row of the test table as written.
type person struct{ phone, name, email, note string }

func personN(i int) person {
	return person{fmt.Sprintf("138%08d", i*7919), fmt.Sprintf("张%d", i), fmt.Sprintf("u%d@example.cn", i%7), fmt.Sprintf("note, %d", i)}
}

// testTable is a PostgreSQL database with a table people of rows rows and
// a trigger that counts every committed update of a row in updates.
type testTable struct {
	dsn  string
	conn *pgx.Conn
	rows int
}

func newTestTable(t *testing.T, rows int) *testTable {
	t.Helper()
	dsn := pgtest.Database(t)
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	tt := &testTable{dsn: dsn, conn: conn, rows: rows}
	tt.exec(t, `CREATE TABLE people (id bigint PRIMARY KEY, phone varchar(11), name text, name_bidx text, email text, note text, age int);
		CREATE TABLE updates (id bigint);
		CREATE FUNCTION count_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO updates VALUES (NEW.id); RETURN NEW; END $$;
		CREATE TRIGGER counted AFTER UPDATE ON people FOR EACH ROW EXECUTE FUNCTION count_update()`)
	tt.reset(t)
	return tt
}

func (tt *testTable) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := tt.conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// reset writes the plain rows again and forgets updates and checkpoints.
func (tt *testTable) reset(t *testing.T) {
	t.Helper()
	tt.exec(t, `TRUNCATE people, updates`)
	tt.exec(t, `DROP TABLE IF EXISTS `+checkpointTable)
	// Keys with gaps, so that batches are found by key, not by count.
	for i := range tt.rows {
		p := personN(i)
		var note *string // row 1's is NULL, which stays NULL
		if i != 1 {
			note = &p.note
		}
		tt.exec(t, `INSERT INTO people VALUES ($1, $2, $3, NULL, $4, $5, $6)`, 3*i+1, p.phone, p.name, p.email, note, i)
	}
}

// read returns the table's protected columns, by id order, NULL as
// "<NULL>".
func (tt *testTable) read(t *testing.T) [][]string {
	t.Helper()
	rows, err := tt.conn.Query(context.Background(), `SELECT phone, name, name_bidx, email, note FROM people ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]string, error) {
		v := make([]*string, 5)
		err := r.Scan(&v[0], &v[1], &v[2], &v[3], &v[4])
		s := make([]string, len(v))
		for i := range v {
			s[i] = deref(v[i])
		}
		return s, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// updatedOnce checks that every row was updated by exactly one committed
// transaction since the last reset: none done twice, none skipped.
func (tt *testTable) updatedOnce(t *testing.T) {
	t.Helper()
	var bad int
	if err := tt.conn.QueryRow(context.Background(), `SELECT count(*) FROM people p WHERE (SELECT count(*) FROM updates u WHERE u.id = p.id) <> 1`).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Errorf("%d rows were not updated exactly once", bad)
	}
}

// checkProtected checks that every row holds its original values,
// protected under cfg.
func checkProtected(t *testing.T, codec *fieldcrypt.Codec, cfg *fieldcrypt.Config, got [][]string) {
	t.Helper()
	ctx := context.Background()
	f := func(col string) *fieldcrypt.Field {
		i := slices.IndexFunc(cfg.Fields, func(f fieldcrypt.Field) bool { return f.Column == col })
		return &cfg.Fields[i]
	}
	for i, row := range got {
		p := personN(i)
		for c, col := range []struct {
			name, want string
		}{{"phone", p.phone}, {"name", p.name}, {"", ""}, {"email", p.email}, {"note", p.note}} {
			if col.name == "" {
				continue
			}
			if i == 1 && col.name == "note" {
				if row[c] != null {
					t.Fatalf("row %d: NULL became %q", i, row[c])
				}
				continue
			}
			if col.name != "phone" && !fieldcrypt.Protected(f(col.name), []byte(row[c])) {
				t.Fatalf("row %d %s is not protected: %q", i, col.name, row[c])
			}
			plain, err := codec.Decrypt(ctx, f(col.name), []byte(row[c]))
			if err != nil || string(plain) != col.want {
				t.Fatalf("row %d %s decrypts to %q, %v; want %q", i, col.name, plain, err, col.want)
			}
		}
		ix, err := codec.Index(ctx, f("name"), []byte(p.name))
		if err != nil || row[2] != string(ix) {
			t.Fatalf("row %d: blind index %v, want %q (%v)", i, row[2], ix, err)
		}
	}
}

// TestTableResumeAfterStopAtEveryPoint stops an encryption, and a
// re-encryption, of a table at every point a crash or Ctrl-C can leave
// it (a batch read and locked, written, checkpointed, committed), in turn
// and twice in one run, with one worker and with three, then runs it
// again to the end: every row was updated by exactly one committed
// transaction, holds its own values protected once, and the checkpoint
// counts every row.
func TestTableResumeAfterStopAtEveryPoint(t *testing.T) {
	const rows, batch = 23, 5 // 5 batches, 20 stop points
	tt := newTestTable(t, rows)
	codec := fieldcrypt.New(&fieldcrypttest.Keys{Seed: "s"}, fieldcrypt.Limits{}, nil)
	cfg := testConfig(t)
	to, err := fieldcrypt.ParseConfig([]byte(strings.ReplaceAll(fieldsYAML, "key: pii, mode: deterministic", "key: pii, mode: deterministic, version: 2")))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, op := range []Op{Encrypt, ReEncrypt} {
		for _, workers := range []int{1, 3} {
			for first := 1; first <= 20; first++ {
				for _, second := range []int{0, first + 1, first + 5} {
					t.Run(fmt.Sprintf("%s workers %d stop at %d then %d", op, workers, first, second), func(t *testing.T) {
						tt.reset(t)
						if op == ReEncrypt {
							if err := (&Job{Op: Encrypt, Codec: codec, From: cfg}).RunTable(ctx, tt.dsn, "people"); err != nil {
								t.Fatal(err)
							}
							tt.exec(t, `TRUNCATE updates`)
						}
						before := tt.read(t)
						var calls atomic.Int64
						hook := func(string) error {
							if n := int(calls.Add(1)); n == first || n == second {
								return ErrStopped
							}
							return nil
						}
						job := &Job{Op: op, Codec: codec, From: cfg, Batch: batch, Workers: workers, hook: hook}
						if op == ReEncrypt {
							job.To = to
						}
						for attempt := 0; ; attempt++ {
							err := job.RunTable(ctx, tt.dsn, "people")
							if err == nil {
								break
							}
							if !errors.Is(err, ErrStopped) || attempt > 3 {
								t.Fatal(err)
							}
						}
						tt.updatedOnce(t)
						after := tt.read(t)
						checkProtected(t, codec, job.To, after)
						if op == ReEncrypt && after[0][3] == before[0][3] {
							t.Errorf("email was not re-encrypted under version 2: %q", after[0][3])
						}
						cps, err := ReadTableCheckpoints(ctx, tt.dsn, "people")
						if err != nil {
							t.Fatal(err)
						}
						if i := slices.IndexFunc(cps, func(c TableCheckpoint) bool { return c.Op == op }); i < 0 || !cps[i].Done || cps[i].Rows != rows || cps[i].Total != rows {
							t.Errorf("final checkpoints %+v", cps)
						}
					})
				}
			}
		}
	}
}

// TestTableStaysReadable reads the table from another connection at
// every point of an encryption, as the application would: every value
// is either plain or protected, and both read as the original.
func TestTableStaysReadable(t *testing.T) {
	tt := newTestTable(t, 23)
	codec := fieldcrypt.New(&fieldcrypttest.Keys{Seed: "s"}, fieldcrypt.Limits{}, nil)
	cfg := testConfig(t)
	ctx := context.Background()
	points, mixed := 0, false
	hook := func(string) error {
		points++
		protected := 0
		for i, row := range tt.read(t) {
			p := personN(i)
			// name and email: columns 1 and 3 of read, fields 1 and 2.
			for c, f := range map[int]int{1: 1, 3: 2} {
				got, want := row[c], []string{p.phone, p.name, "", p.email}[c]
				if got == want {
					continue
				}
				plain, err := codec.Decrypt(ctx, &cfg.Fields[f], []byte(got))
				if err != nil || string(plain) != want {
					return fmt.Errorf("row %d column %d reads %q, neither plain nor protected %q", i, c, got, want)
				}
				protected++
			}
		}
		mixed = mixed || protected > 0 && protected < 2*23
		return nil
	}
	if err := (&Job{Op: Encrypt, Codec: codec, From: cfg, Batch: 4, hook: hook}).RunTable(ctx, tt.dsn, "people"); err != nil {
		t.Fatal(err)
	}
	if points != 4*6 || !mixed {
		t.Errorf("%d points, mixed %v", points, mixed)
	}
}

// TestTableDecryptMaskAndProgress: decrypt brings the table back, mask
// masks it, a finished job is not run twice unless restarted, and the
// progress counts rows against the table's row count.
func TestTableDecryptMaskAndProgress(t *testing.T) {
	tt := newTestTable(t, 10)
	codec := fieldcrypt.New(&fieldcrypttest.Keys{Seed: "s"}, fieldcrypt.Limits{}, nil)
	cfg := testConfig(t)
	ctx := context.Background()
	plain := tt.read(t)
	var last Progress
	job := &Job{Op: Encrypt, Codec: codec, From: cfg, Batch: 3, Workers: 2, Progress: func(p Progress) { last = p }}
	if err := job.RunTable(ctx, tt.dsn, "people"); err != nil {
		t.Fatal(err)
	}
	if !last.Done || last.Rows != 10 || last.Total != 10 {
		t.Errorf("last progress %+v", last)
	}
	tt.exec(t, `TRUNCATE updates`)
	if err := job.RunTable(ctx, tt.dsn, "people"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tt.conn.QueryRow(ctx, `SELECT count(*) FROM updates`).Scan(&n); err != nil || n != 0 {
		t.Errorf("a finished job ran again: %d updates, %v", n, err)
	}
	if err := (&Job{Op: Decrypt, Codec: codec, From: cfg}).RunTable(ctx, tt.dsn, "people"); err != nil {
		t.Fatal(err)
	}
	back := tt.read(t)
	for i := range plain {
		for _, c := range []int{0, 1, 3, 4} {
			if back[i][c] != plain[i][c] {
				t.Fatalf("row %d column %d: %q, want %q", i, c, back[i][c], plain[i][c])
			}
		}
	}
	if err := (&Job{Op: MaskOp, Codec: codec, From: cfg}).RunTable(ctx, tt.dsn, "people"); err != nil {
		t.Fatal(err)
	}
	if masked := tt.read(t); masked[0][1] != "张*" || masked[0][3] != plain[0][3] {
		t.Errorf("masked row %q", masked[0])
	}
}

const null = "<NULL>"

func deref(s *string) string {
	if s == nil {
		return null
	}
	return *s
}

// TestTableRefusesBadJobs: a missing table, a table without a primary
// key, a missing blind index column, a field on the primary key and a
// resume with other fields files are refused before any row changes.
func TestTableRefusesBadJobs(t *testing.T) {
	tt := newTestTable(t, 3)
	codec := fieldcrypt.New(&fieldcrypttest.Keys{Seed: "s"}, fieldcrypt.Limits{}, nil)
	ctx := context.Background()
	tt.exec(t, `CREATE TABLE nokey (phone text); CREATE TABLE noindex (id int PRIMARY KEY, name text)`)
	parse := func(y string) *fieldcrypt.Config {
		c, err := fieldcrypt.ParseConfig([]byte(y))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	before := tt.read(t)
	for _, c := range []struct {
		table, fields, want string
	}{
		{"absent", fieldsYAML, `no table "absent"`},
		{"nokey", "fields: [{column: phone, key: pii, mode: fpe}]", "no primary key"},
		{"noindex", "fields: [{column: name, key: pii, mode: blind-index}]", `no blind index column "name_bidx"`},
		{"people", "fields: [{column: id, key: pii, mode: fpe}]", "primary key"},
		{"people", "fields: [{column: ssn, key: pii, mode: fpe}]", `no column "ssn"`},
	} {
		err := (&Job{Op: Encrypt, Codec: codec, From: parse(c.fields)}).RunTable(ctx, tt.dsn, c.table)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: %v, want %q", c.table, c.fields, err, c.want)
		}
	}
	stop := func(string) error { return ErrStopped }
	if err := (&Job{Op: Encrypt, Codec: codec, From: testConfig(t), hook: stop}).RunTable(ctx, tt.dsn, "people"); !errors.Is(err, ErrStopped) {
		t.Fatal(err)
	}
	other := parse(strings.ReplaceAll(fieldsYAML, "mode: randomized", "mode: deterministic"))
	if err := (&Job{Op: Encrypt, Codec: codec, From: other}).RunTable(ctx, tt.dsn, "people"); err == nil || !strings.Contains(err.Error(), "other fields files") {
		t.Errorf("resume with other fields: %v", err)
	}
	if got := tt.read(t); !slices.EqualFunc(got, before, slices.Equal) {
		t.Error("a refused job changed the table")
	}
	if err := (&Job{Op: Encrypt, Codec: codec, From: other, Restart: true}).RunTable(ctx, tt.dsn, "people"); err != nil {
		t.Errorf("restart: %v", err)
	}
}
