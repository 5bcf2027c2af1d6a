package bulk

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mimacrypto/mima/sdk/fieldcrypt"
)

// checkpointTable holds the checkpoints of table jobs, one row per table
// and operation, in the database of the table: each batch's rows and its
// checkpoint commit in one transaction.
const checkpointTable = "mima_bulk_checkpoints"

const createCheckpoints = `CREATE TABLE IF NOT EXISTS ` + checkpointTable + ` (
	tbl text NOT NULL,
	op text NOT NULL,
	config text NOT NULL,
	seq bigint NOT NULL DEFAULT 0,
	last_key text[],
	rows bigint NOT NULL DEFAULT 0,
	total bigint NOT NULL DEFAULT 0,
	done boolean NOT NULL DEFAULT false,
	updated timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tbl, op))`

// TableCheckpoint is the state of a table job after its last committed
// batch: the batches and rows done, the primary key of the last row done,
// and whether it finished.
type TableCheckpoint struct {
	Table   string    `json:"table"`
	Op      Op        `json:"op"`
	Batches int64     `json:"batches"`
	LastKey []string  `json:"last_key"`
	Rows    int64     `json:"rows"`
	Total   int64     `json:"total"`
	Done    bool      `json:"done"`
	Updated time.Time `json:"updated"`
	config  string
}

// table is what a job knows of the table it works on.
type table struct {
	name     string   // the table, quoted
	key      []column // the primary key, in order
	cols     []column // the columns the job reads and writes
	index    map[string]int
	selectQ  string // the first batch's query; selectAfter the next ones'
	selectAf string
	update   string
}

type column struct{ name, typ string }

func (c column) quoted() string { return pgx.Identifier{c.name}.Sanitize() }

// RunTable runs the job over a PostgreSQL table, in transactions of
// Batch rows in primary key order: each one locks its rows, writes them
// and moves the checkpoint, so a job stopped at any point and run again
// does no row twice and skips none. Up to Workers batches are in flight;
// they commit in order. Restart forgets an earlier checkpoint of the same
// operation on the table.
func (j *Job) RunTable(ctx context.Context, dsn, name string) error {
	if err := j.defaults(); err != nil {
		return err
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("bulk: the PostgreSQL DSN: %w", err)
	}
	pc.MaxConns = int32(j.Workers + 1)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return fmt.Errorf("bulk: connecting to PostgreSQL: %w", err)
	}
	defer pool.Close()
	t, err := j.describe(ctx, pool, name)
	if err != nil {
		return err
	}
	cp, err := j.startCheckpoint(ctx, pool, t)
	if err != nil {
		return err
	}
	r := &tableRun{Job: j, t: t, cp: &cp, start: j.now()}
	if !cp.Done {
		if err := r.runBatches(ctx, pool); err != nil {
			return err
		}
	}
	j.report(r.start, r.done, cp.Rows, cp.Total, true)
	return nil
}

// describe finds the table, its primary key and the types of the columns
// the job names, and builds its queries.
func (j *Job) describe(ctx context.Context, pool *pgxpool.Pool, name string) (*table, error) {
	quoted, err := tableName(ctx, pool, name)
	if err != nil {
		return nil, err
	}
	t := &table{name: quoted, index: map[string]int{}}
	if t.key, err = columns(ctx, pool, `SELECT a.attname, format_type(a.atttypid, a.atttypmod)
		FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
		WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY k.ord`, name); err != nil {
		return nil, err
	}
	if len(t.key) == 0 {
		return nil, fmt.Errorf("bulk: table %q has no primary key; a job goes through a table in primary key order", name)
	}
	all, err := columns(ctx, pool, `SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`, name)
	if err != nil {
		return nil, err
	}
	for _, want := range j.tableColumns() {
		i := slices.IndexFunc(all, func(c column) bool { return c.name == want })
		switch {
		case i < 0 && slices.ContainsFunc(j.To.Fields, func(f fieldcrypt.Field) bool { return f.IndexColumn == want }):
			return nil, fmt.Errorf("bulk: table %q has no blind index column %q (ALTER TABLE %s ADD COLUMN %s text)", name, want, t.name, pgx.Identifier{want}.Sanitize())
		case i < 0:
			return nil, fmt.Errorf("bulk: table %q has no column %q", name, want)
		case slices.ContainsFunc(t.key, func(c column) bool { return c.name == want }):
			return nil, fmt.Errorf("bulk: column %q is the primary key; a job cannot change it", want)
		}
		t.index[want] = len(t.cols)
		t.cols = append(t.cols, all[i])
	}
	t.queries()
	return t, nil
}

// tableColumns are the columns a job reads and writes: the fields', then
// the blind indexes' it writes.
func (j *Job) tableColumns() []string {
	var cols []string
	for i := range j.From.Fields {
		cols = append(cols, j.From.Fields[i].Column)
		if ix := j.To.Fields[i].IndexColumn; ix != "" && !slices.Contains(cols, ix) {
			cols = append(cols, ix)
		}
	}
	return cols
}

func columns(ctx context.Context, pool *pgxpool.Pool, q, name string) ([]column, error) {
	rows, err := pool.Query(ctx, q, name)
	if err != nil {
		return nil, fmt.Errorf("bulk: reading the columns of %q: %w", name, err)
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (column, error) {
		var c column
		return c, r.Scan(&c.name, &c.typ)
	})
	if err != nil {
		return nil, fmt.Errorf("bulk: reading the columns of %q: %w", name, err)
	}
	return cols, nil
}

// queries builds the batch queries. Values travel as text and are cast
// to their columns' types, so any key type and any text-like column work.
func (t *table) queries() {
	var key, after, params, sel, set, unnest, alias, match []string
	for i, k := range t.key {
		// Qualified: ORDER BY "id" would order by the output column, text.
		key = append(key, "t."+k.quoted())
		params = append(params, fmt.Sprintf("$%d::%s", i+1, k.typ))
		sel = append(sel, k.quoted()+"::text")
		alias = append(alias, fmt.Sprintf("k%d", i))
		match = append(match, fmt.Sprintf("t.%s = v.k%d::%s", k.quoted(), i, k.typ))
	}
	for i, c := range t.cols {
		sel = append(sel, c.quoted()+"::text")
		alias = append(alias, fmt.Sprintf("c%d", i))
		set = append(set, fmt.Sprintf("%s = v.c%d::%s", c.quoted(), i, c.typ))
	}
	for i := range alias {
		unnest = append(unnest, fmt.Sprintf("$%d::text[]", i+1))
	}
	after = []string{"(" + strings.Join(key, ", ") + ") > (" + strings.Join(params, ", ") + ")"}
	base := "SELECT " + strings.Join(sel, ", ") + " FROM " + t.name + " AS t"
	tail := " ORDER BY " + strings.Join(key, ", ") + " LIMIT $%d FOR UPDATE"
	t.selectQ = base + fmt.Sprintf(tail, 1)
	t.selectAf = base + " WHERE " + after[0] + fmt.Sprintf(tail, len(t.key)+1)
	t.update = "UPDATE " + t.name + " AS t SET " + strings.Join(set, ", ") +
		" FROM unnest(" + strings.Join(unnest, ", ") + ") AS v(" + strings.Join(alias, ", ") + ")" +
		" WHERE " + strings.Join(match, " AND ")
}

// fingerprint names the fields files of a job, so that a checkpoint is
// resumed only by the job that made it.
func (j *Job) fingerprint() (string, error) {
	b, err := json.Marshal([]any{j.From, j.To})
	if err != nil {
		return "", err
	}
	sum := sm3.Sum(b)
	return hex.EncodeToString(sum[:16]), nil
}

// startCheckpoint creates or reads the job's checkpoint and counts the
// table's rows for the ETA.
func (j *Job) startCheckpoint(ctx context.Context, pool *pgxpool.Pool, t *table) (TableCheckpoint, error) {
	cp := TableCheckpoint{Table: t.name, Op: j.Op}
	fp, err := j.fingerprint()
	if err != nil {
		return cp, err
	}
	if _, err := pool.Exec(ctx, createCheckpoints); err != nil {
		return cp, fmt.Errorf("bulk: creating %s: %w", checkpointTable, err)
	}
	if j.Restart {
		if _, err := pool.Exec(ctx, `DELETE FROM `+checkpointTable+` WHERE tbl = $1 AND op = $2`, t.name, j.Op); err != nil {
			return cp, fmt.Errorf("bulk: forgetting the checkpoint: %w", err)
		}
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+t.name).Scan(&cp.Total); err != nil {
		return cp, fmt.Errorf("bulk: counting the rows of %s: %w", t.name, err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO `+checkpointTable+` (tbl, op, config, total) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tbl, op) DO UPDATE SET total = excluded.total`, t.name, j.Op, fp, cp.Total); err != nil {
		return cp, fmt.Errorf("bulk: saving the checkpoint: %w", err)
	}
	cps, err := readCheckpoints(ctx, pool, t.name, j.Op)
	if err != nil {
		return cp, err
	}
	if len(cps) != 1 {
		return cp, fmt.Errorf("bulk: the checkpoint of %s %s is gone", j.Op, t.name)
	}
	if cps[0].config != fp {
		return cp, fmt.Errorf("bulk: the checkpoint of %s %s was made with other fields files; run it with those, or again with --restart", j.Op, t.name)
	}
	return cps[0], nil
}

// ReadTableCheckpoints returns the checkpoints of the jobs on a table, by
// operation; none when no job ran.
func ReadTableCheckpoints(ctx context.Context, dsn, name string) ([]TableCheckpoint, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("bulk: connecting to PostgreSQL: %w", err)
	}
	defer pool.Close()
	tbl, err := tableName(ctx, pool, name)
	if err != nil {
		return nil, err
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, checkpointTable).Scan(&exists); err != nil || !exists {
		return nil, err
	}
	return readCheckpoints(ctx, pool, tbl, "")
}

// tableName finds a table and returns its name, quoted.
func tableName(ctx context.Context, pool *pgxpool.Pool, name string) (string, error) {
	var schema, rel string
	err := pool.QueryRow(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')`, name).Scan(&schema, &rel)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("bulk: there is no table %q", name)
	}
	if err != nil {
		return "", fmt.Errorf("bulk: finding table %q: %w", name, err)
	}
	return pgx.Identifier{schema, rel}.Sanitize(), nil
}

func readCheckpoints(ctx context.Context, pool *pgxpool.Pool, tbl string, op Op) ([]TableCheckpoint, error) {
	rows, err := pool.Query(ctx, `SELECT tbl, op, config, seq, coalesce(last_key, '{}'), rows, total, done, updated
		FROM `+checkpointTable+` WHERE tbl = $1 AND ($2 = '' OR op = $2) ORDER BY op`, tbl, string(op))
	if err != nil {
		return nil, fmt.Errorf("bulk: reading the checkpoint: %w", err)
	}
	cps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TableCheckpoint, error) {
		var c TableCheckpoint
		return c, r.Scan(&c.Table, &c.Op, &c.config, &c.Batches, &c.LastKey, &c.Rows, &c.Total, &c.Done, &c.Updated)
	})
	if err != nil {
		return nil, fmt.Errorf("bulk: reading the checkpoint: %w", err)
	}
	return cps, nil
}

// tableRow is one row of a batch: its key and the values of the job's
// columns as text (nil for NULL).
type tableRow struct {
	t       *table
	key     []string
	vals    []*string
	changed bool
}

func (r *tableRow) get(col string) (string, bool) {
	v := r.vals[r.t.index[col]]
	if v == nil {
		return "", false
	}
	return *v, true
}

func (r *tableRow) set(col, v string) {
	i := r.t.index[col]
	if r.vals[i] == nil || *r.vals[i] != v {
		r.vals[i], r.changed = &v, true
	}
}

// tableRun is a table job under way.
type tableRun struct {
	*Job
	t     *table
	cp    *TableCheckpoint
	start time.Time
	done  int64 // rows committed by this run
}

// runBatches reads batches after the checkpoint's last key, each in its
// own transaction with its rows locked, and hands them to up to Workers
// goroutines that transform and write them and commit in order.
func (r *tableRun) runBatches(ctx context.Context, pool *pgxpool.Pool) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	slots := make(chan struct{}, r.Workers)
	prev := make(chan struct{})
	close(prev)
	seq, last, read := r.cp.Batches, r.cp.LastKey, int64(0)
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		tx, batch, err := r.t.selectBatch(ctx, pool, last, r.Batch)
		if err == nil && len(batch) > 0 {
			err = r.at("selected")
		}
		if err != nil || len(batch) == 0 {
			<-slots
			if tx != nil {
				_ = tx.Rollback(context.Background())
			}
			if err != nil {
				cancel(err)
			}
			break
		}
		seq, last = seq+1, batch[len(batch)-1].key
		b := tableBatch{tx: tx, rows: batch, seq: seq, last: last, prev: prev, done: make(chan struct{})}
		prev = b.done
		wg.Go(func() {
			defer func() { <-slots }()
			if err := r.writeBatch(ctx, b); err != nil {
				cancel(err)
			}
		})
		read += int64(len(batch))
		if err := r.pace(ctx, r.start, read); err != nil {
			cancel(err)
		}
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	tag, err := pool.Exec(ctx, `UPDATE `+checkpointTable+` SET done = true, updated = now() WHERE tbl = $1 AND op = $2 AND seq = $3`, r.t.name, r.Op, seq)
	if err == nil && tag.RowsAffected() != 1 {
		err = errMoved
	}
	if err != nil {
		return fmt.Errorf("bulk: finishing the checkpoint: %w", err)
	}
	r.cp.Done = true
	return nil
}

// errMoved is a checkpoint that another job moved.
var errMoved = errors.New("the checkpoint moved: is another job running on this table?")

// selectBatch begins a transaction and locks and reads the next n rows
// after the key last (nil: from the start).
func (t *table) selectBatch(ctx context.Context, pool *pgxpool.Pool, last []string, n int) (pgx.Tx, []*tableRow, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("bulk: beginning a batch: %w", err)
	}
	q, args := t.selectQ, []any{n}
	if len(last) > 0 {
		q, args = t.selectAf, append(toAny(last), n)
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return tx, nil, fmt.Errorf("bulk: reading a batch of %s: %w", t.name, err)
	}
	batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*tableRow, error) {
		row := &tableRow{t: t, key: make([]string, len(t.key)), vals: make([]*string, len(t.cols))}
		dst := make([]any, 0, len(t.key)+len(t.cols))
		for i := range row.key {
			dst = append(dst, &row.key[i])
		}
		for i := range row.vals {
			dst = append(dst, &row.vals[i])
		}
		return row, r.Scan(dst...)
	})
	if err != nil {
		return tx, nil, fmt.Errorf("bulk: reading a batch of %s: %w", t.name, err)
	}
	return tx, batch, nil
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// tableBatch is one batch in flight: its transaction and rows, its place
// in the order, and the channels that order the commits: prev is closed
// when the batch before has committed, done when this one has.
type tableBatch struct {
	tx         pgx.Tx
	rows       []*tableRow
	seq        int64
	last       []string
	prev, done chan struct{}
}

// writeBatch transforms a batch, writes the rows that changed and, once
// the batch before has committed, moves the checkpoint and commits.
func (r *tableRun) writeBatch(ctx context.Context, b tableBatch) error {
	defer b.tx.Rollback(context.Background())
	for _, row := range b.rows {
		if err := r.transform(ctx, row); err != nil {
			return fmt.Errorf("bulk: %s row %v: %w", r.t.name, row.key, err)
		}
	}
	if err := r.t.write(ctx, b.tx, b.rows); err != nil {
		return err
	}
	if err := r.at("updated"); err != nil {
		return err
	}
	select {
	case <-b.prev:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	tag, err := b.tx.Exec(ctx, `UPDATE `+checkpointTable+` SET seq = $1, last_key = $2, rows = rows + $3, updated = now()
		WHERE tbl = $4 AND op = $5 AND seq = $6`, b.seq, b.last, len(b.rows), r.t.name, r.Op, b.seq-1)
	if err == nil && tag.RowsAffected() != 1 {
		err = errMoved
	}
	if err != nil {
		return fmt.Errorf("bulk: moving the checkpoint: %w", err)
	}
	if err := r.at("checkpointed"); err != nil {
		return err
	}
	if err := b.tx.Commit(ctx); err != nil {
		return fmt.Errorf("bulk: committing a batch: %w", err)
	}
	r.cp.Batches, r.cp.LastKey, r.cp.Rows = b.seq, b.last, r.cp.Rows+int64(len(b.rows))
	r.done += int64(len(b.rows))
	r.report(r.start, r.done, r.cp.Rows, r.cp.Total, false)
	close(b.done)
	return r.at("committed")
}

// write updates the rows of a batch that changed, in one statement.
func (t *table) write(ctx context.Context, tx pgx.Tx, rows []*tableRow) error {
	args := make([][]*string, len(t.key)+len(t.cols))
	for _, r := range rows {
		if !r.changed {
			continue
		}
		for i := range r.key {
			args[i] = append(args[i], &r.key[i])
		}
		for i, v := range r.vals {
			args[len(t.key)+i] = append(args[len(t.key)+i], v)
		}
	}
	if len(args[0]) == 0 {
		return nil
	}
	params := make([]any, len(args))
	for i := range args {
		params[i] = args[i]
	}
	if _, err := tx.Exec(ctx, t.update, params...); err != nil {
		return fmt.Errorf("bulk: writing a batch of %s: %w", t.name, err)
	}
	return nil
}
