package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mimacrypto/mima/internal/audit"
)

// auditConfig is a node's chain's audit.ChainConfig with its defaults
// filled in.
func auditConfig(c audit.ChainConfig) audit.ChainConfig {
	if c.SegmentMaxBytes <= 0 {
		c.SegmentMaxBytes = audit.DefaultSegmentMaxBytes
	}
	if c.SegmentMaxAge <= 0 {
		c.SegmentMaxAge = audit.DefaultSegmentMaxAge
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.OnError == nil {
		c.OnError = func(error) {}
	}
	return c
}

// activeSegment is the segment being appended to.
type activeSegment struct {
	first uint64    // seq of its first record
	prev  string    // hash its first record links to
	at    time.Time // start of its partition: the at of its rows
	bytes int64
}

var _ audit.Segmenter = (*AuditSink)(nil)

// legacyPartition holds the rows written before partitioning, at "epoch".
const legacyPartition = "mima_audit_legacy"

// openSegment finds the active segment: the records after the newest
// sealed one, in the partition of their first row, or a new segment.
func (s *AuditSink) openSegment(ctx context.Context) error {
	s.seg = activeSegment{first: 1, prev: strings.Repeat("0", 64)}
	var info []byte
	err := s.b.pool.QueryRow(ctx, `SELECT info FROM mima_audit_segment WHERE node = $1 ORDER BY first_seq DESC LIMIT 1`, s.node).Scan(&info)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return unavailable(err)
	default:
		e, cp, err := parseSegment(info)
		if err != nil {
			return err
		}
		s.seg.first, s.seg.prev = e.LastSeq+1, cp.Hash
	}
	if uint64(s.next) == s.seg.first {
		s.seg.at, err = s.partition(ctx, s.cfg.Now())
		return err
	}
	err = s.b.pool.QueryRow(ctx, `SELECT at, (SELECT coalesce(sum(length(line) + 1), 0) FROM mima_audit WHERE node = $1 AND seq >= $2)
		FROM mima_audit WHERE node = $1 AND seq = $2`, s.node, s.seg.first).Scan(&s.seg.at, &s.seg.bytes)
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// parseSegment decodes a stored manifest entry and its checkpoint.
func parseSegment(info []byte) (audit.SegmentInfo, *audit.Record, error) {
	var e audit.SegmentInfo
	if err := json.Unmarshal(info, &e); err != nil {
		return e, nil, fmt.Errorf("postgres: audit segment entry: %w", err)
	}
	cp, err := audit.ParseRecord(e.Checkpoint)
	if err != nil {
		return e, nil, fmt.Errorf("postgres: audit segment checkpoint: %w", err)
	}
	return e, cp, nil
}

// partition returns the start of the partition that holds now, creating
// the partition if needed.
func (s *AuditSink) partition(ctx context.Context, now time.Time) (time.Time, error) {
	from := now.UTC().Truncate(s.cfg.SegmentMaxAge)
	lock, err := s.b.Lock(ctx, "mima-audit-partitions")
	if err != nil {
		return from, err
	}
	defer lock.Release()
	_, err = s.b.pool.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF mima_audit FOR VALUES FROM ('%s') TO ('%s')`,
		partitionName(from), from.Format(time.RFC3339), from.Add(s.cfg.SegmentMaxAge).Format(time.RFC3339)))
	if err != nil {
		return from, fmt.Errorf("postgres: creating the audit partition of %s: %w", from.Format(time.RFC3339), err)
	}
	return from, nil
}

// partitionName names the partition starting at from.
func partitionName(from time.Time) string { return "mima_audit_p" + from.Format("20060102_150405") }

// partitionStart is the inverse of partitionName ("epoch" for the rows of
// earlier versions); ok is false for a table that is not one of ours.
func partitionStart(name string) (time.Time, bool) {
	if name == legacyPartition {
		return time.Unix(0, 0).UTC(), true
	}
	t, err := time.Parse("20060102_150405", strings.TrimPrefix(name, "mima_audit_p"))
	return t, err == nil && strings.HasPrefix(name, "mima_audit_p")
}

// SealDue reports whether the active segment holds records and has
// reached its size limit or the end of its partition.
func (s *AuditSink) SealDue(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if uint64(s.next) == s.seg.first {
		return false
	}
	return s.seg.bytes >= s.cfg.SegmentMaxBytes || !now.Before(s.seg.at.Add(s.cfg.SegmentMaxAge))
}

// Seal lists the active segment, whose last record must be a checkpoint,
// in mima_audit_segment and starts the next one in the partition of now.
func (s *AuditSink) Seal(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if uint64(s.next) == s.seg.first {
		return nil
	}
	cp, err := audit.ParseRecord(s.last)
	if err != nil || cp.Kind != audit.KindCheckpoint {
		return errors.New("postgres: seal: the active audit segment does not end with a checkpoint")
	}
	var firstLine []byte
	if err := s.b.pool.QueryRow(ctx, `SELECT line FROM mima_audit WHERE node = $1 AND seq = $2`, s.node, s.seg.first).Scan(&firstLine); err != nil {
		return unavailable(err)
	}
	first, err := audit.ParseRecord(firstLine)
	if err != nil {
		return fmt.Errorf("postgres: seal: %w", err)
	}
	e := audit.SegmentInfo{
		Status: audit.StatusSealed, FirstSeq: s.seg.first, LastSeq: cp.Seq, Prev: s.seg.prev,
		FirstTime: first.Time, LastTime: cp.Time, Bytes: s.seg.bytes, Checkpoint: s.last,
	}
	info, _ := json.Marshal(e) // cannot fail
	_, err = s.b.pool.Exec(ctx, `INSERT INTO mima_audit_segment (node, first_seq, last_seq, at, last_time, info) VALUES ($1, $2, $3, $4, $5, $6)`,
		s.node, e.FirstSeq, e.LastSeq, s.seg.at, cp.Time, info)
	if err != nil {
		return unavailable(err)
	}
	at, err := s.partition(ctx, s.cfg.Now())
	if err != nil {
		return err // the next Seal, or a restart, starts the next segment
	}
	s.seg = activeSegment{first: cp.Seq + 1, prev: cp.Hash, at: at}
	s.kick()
	return nil
}

// kick wakes the archiving; the caller holds mu or owns s.
func (s *AuditSink) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// background archives sealed segments and expires partitions whenever
// wake is signalled, until Close closes it. It holds its own copy of the
// channel: Close clears s.wake under s.mu.
func (s *AuditSink) background(wake <-chan struct{}) {
	defer close(s.done)
	if s.cfg.Archiver == nil {
		for range wake {
		}
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range wake {
		if err := s.Archive(ctx); err != nil {
			s.cfg.OnError(err)
			continue
		}
		if err := s.Expire(ctx); err != nil {
			s.cfg.OnError(err)
		}
	}
}

// Archive hands the sealed segments not yet archived to the archiver, in
// order, marking each once it is archived.
func (s *AuditSink) Archive(ctx context.Context) error {
	s.work.Lock()
	defer s.work.Unlock()
	rows, err := s.b.pool.Query(ctx, `SELECT info FROM mima_audit_segment WHERE node = $1 AND NOT archived ORDER BY first_seq`, s.node)
	if err != nil {
		return unavailable(err)
	}
	infos, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return unavailable(err)
	}
	for _, info := range infos {
		e, _, err := parseSegment(info)
		if err != nil {
			return err
		}
		scan := func(fn func(line []byte) error) error { return s.scanRange(ctx, e.FirstSeq, e.LastSeq, fn) }
		if err := s.cfg.Archiver.Archive(ctx, s.node, e, scan); err != nil {
			return fmt.Errorf("postgres: archiving audit segment %d of %s: %w", e.FirstSeq, s.node, err)
		}
		if _, err := s.b.pool.Exec(ctx, `UPDATE mima_audit_segment SET archived = true WHERE node = $1 AND first_seq = $2`, s.node, e.FirstSeq); err != nil {
			return unavailable(err)
		}
	}
	return nil
}

// Expire detaches and drops the partitions whose every row belongs to an
// archived segment whose last record is older than the retention. Nothing
// is dropped before it is archived and its archive verified.
func (s *AuditSink) Expire(ctx context.Context) error {
	if s.cfg.Archiver == nil || s.cfg.Retention <= 0 {
		return nil
	}
	s.work.Lock()
	defer s.work.Unlock()
	s.mu.Lock()
	active := s.seg.at // taken before the lock that Seal takes holding mu
	s.mu.Unlock()
	lock, err := s.b.Lock(ctx, "mima-audit-partitions")
	if err != nil {
		return err
	}
	defer lock.Release()
	rows, err := s.b.pool.Query(ctx, `SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'mima_audit'::regclass ORDER BY 1`)
	if err != nil {
		return unavailable(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return unavailable(err)
	}
	cutoff := s.cfg.Now().Add(-s.cfg.Retention)
	for _, name := range names {
		at, ok := partitionStart(name)
		if !ok || !at.Add(s.cfg.SegmentMaxAge).Before(cutoff) || at.Equal(active) {
			continue
		}
		var keep bool
		err := s.b.pool.QueryRow(ctx, fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM %s p WHERE NOT EXISTS (
			SELECT 1 FROM mima_audit_segment g WHERE g.node = p.node AND g.at = p.at AND p.seq BETWEEN g.first_seq AND g.last_seq
				AND g.archived AND g.last_time < $1))`, name), cutoff).Scan(&keep)
		if err != nil {
			return unavailable(err)
		}
		if keep {
			continue
		}
		if _, err := s.b.pool.Exec(ctx, fmt.Sprintf(`ALTER TABLE mima_audit DETACH PARTITION %s; DROP TABLE %s`, name, name)); err != nil {
			return unavailable(err)
		}
	}
	return nil
}

// scanRange calls fn with the lines first..last of the chain, in order.
func (s auditSource) scanRange(ctx context.Context, first, last uint64, fn func(line []byte) error) error {
	rows, err := s.b.pool.Query(ctx, `SELECT line FROM mima_audit WHERE node = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq`, s.node, first, last)
	if err != nil {
		return unavailable(err)
	}
	defer rows.Close()
	for rows.Next() {
		var line []byte
		if err := rows.Scan(&line); err != nil {
			return unavailable(err)
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// Window returns where the chain in the database starts once partitions
// were dropped: the seq of its first record and the hash it links to,
// the checkpoint of the archived segment before it (0 and "" when the
// chain is whole).
func (s auditSource) Window(ctx context.Context) (uint64, string, error) {
	var first uint64
	if err := s.b.pool.QueryRow(ctx, `SELECT coalesce(min(seq), 0) FROM mima_audit WHERE node = $1`, s.node).Scan(&first); err != nil {
		return 0, "", unavailable(err)
	}
	if first <= 1 {
		return 0, "", nil
	}
	var info []byte
	err := s.b.pool.QueryRow(ctx, `SELECT info FROM mima_audit_segment WHERE node = $1 AND last_seq = $2`, s.node, first-1).Scan(&info)
	if err != nil {
		return 0, "", fmt.Errorf("postgres: the audit chain of %s starts at record %d and no archived segment ends before it: %w", s.node, first, err)
	}
	_, cp, err := parseSegment(info)
	if err != nil {
		return 0, "", err
	}
	return first, cp.Hash, nil
}

var _ audit.Windowed = auditSource{}
