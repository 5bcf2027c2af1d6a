package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// migrations are applied in order, once each; their index + 1 is the
// schema version recorded in mima_schema. Append only: never edit one
// that has shipped.
var migrations = []string{
	// 1: the key-value store. Keys are bytea so that order and prefix
	// ranges are byte-wise, as the storage.Backend contract asks.
	`CREATE TABLE mima_kv (
		key   bytea PRIMARY KEY,
		value bytea NOT NULL
	)`,
	// 2: audit chains, one per node, and each node's latest checkpoint.
	`CREATE TABLE mima_audit (
		node text   NOT NULL,
		seq  bigint NOT NULL,
		line bytea  NOT NULL,
		PRIMARY KEY (node, seq)
	);
	CREATE TABLE mima_audit_checkpoint (
		node text  PRIMARY KEY,
		line bytea NOT NULL
	)`,
	// 3: the condition of a compare-and-swap, checked inside the batch
	// that carries it: failing, it aborts the batch's transaction.
	`CREATE FUNCTION mima_expect(ok boolean) RETURNS void LANGUAGE plpgsql AS $$
	BEGIN
		IF NOT ok THEN
			RAISE EXCEPTION 'mima: entry changed concurrently' USING ERRCODE = '` + errConflict + `';
		END IF;
	END $$`,
	// 4: audit chains partitioned by time. Each row carries at, the start
	// of the partition of the segment it belongs to (segments never span
	// partitions), and sealed segments are listed in mima_audit_segment.
	// The rows of earlier versions stay where they are: the old table
	// becomes the partition of "epoch", which holds the segment that was
	// active at the upgrade until it is sealed.
	`ALTER TABLE mima_audit RENAME TO mima_audit_legacy;
	ALTER TABLE mima_audit_legacy ADD COLUMN at timestamptz NOT NULL DEFAULT 'epoch';
	ALTER TABLE mima_audit_legacy ALTER COLUMN at DROP DEFAULT;
	ALTER TABLE mima_audit_legacy DROP CONSTRAINT mima_audit_pkey, ADD PRIMARY KEY (node, seq, at);
	ALTER TABLE mima_audit_legacy ADD CONSTRAINT mima_audit_legacy_at CHECK (at = 'epoch');
	CREATE TABLE mima_audit (
		node text        NOT NULL,
		seq  bigint      NOT NULL,
		line bytea       NOT NULL,
		at   timestamptz NOT NULL,
		PRIMARY KEY (node, seq, at)
	) PARTITION BY RANGE (at);
	ALTER TABLE mima_audit ATTACH PARTITION mima_audit_legacy FOR VALUES FROM (MINVALUE) TO ('1970-01-01 00:00:01+00');
	CREATE TABLE mima_audit_segment (
		node      text        NOT NULL,
		first_seq bigint      NOT NULL,
		last_seq  bigint      NOT NULL,
		at        timestamptz NOT NULL,
		last_time timestamptz NOT NULL,
		info      bytea       NOT NULL,
		archived  boolean     NOT NULL DEFAULT false,
		PRIMARY KEY (node, first_seq)
	)`,
	// 5: the last seq of each node's chain, which an append moves on
	// condition that it follows on directly (see appendLines).
	`CREATE TABLE mima_audit_head (
		node text   PRIMARY KEY,
		seq  bigint NOT NULL
	)`,
}

// migrate brings the schema up to date under an advisory lock.
func (b *Backend) migrate(ctx context.Context) error {
	lock, err := b.Lock(ctx, "mima-schema")
	if err != nil {
		return fmt.Errorf("postgres: locking the schema: %w", err)
	}
	defer lock.Release()
	if _, err := b.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS mima_schema (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("postgres: creating mima_schema: %w", err)
	}
	var have int
	if err := b.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM mima_schema`).Scan(&have); err != nil {
		return fmt.Errorf("postgres: reading the schema version: %w", err)
	}
	if have > len(migrations) {
		return fmt.Errorf("postgres: the database schema (version %d) is newer than this mima (version %d)", have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO mima_schema (version) VALUES ($1)`, v)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %d: %w", v, err)
		}
	}
	return nil
}

// SchemaVersion reports the schema version of the database.
func (b *Backend) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := b.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM mima_schema`).Scan(&v)
	return v, err
}
