package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/storage"
)

// AuditSink is one node's audit chain in mima_audit: lines numbered from 1
// in the order they were appended, and the node's latest checkpoint. The
// node holds an advisory lock on its chain while the sink is open, so two
// nodes given the same node id cannot interleave one chain.
type AuditSink struct {
	auditSource
	cfg  audit.ChainConfig
	lock storage.Lock
	mu   sync.Mutex
	next int64 // seq of the next line
	last []byte
	seg  activeSegment

	work sync.Mutex // held by Archive and Expire
	wake chan struct{}
	done chan struct{}
}

var _ audit.ChainStore = (*Backend)(nil)

// AuditSink opens node's audit chain for appending, as an *AuditSink.
func (b *Backend) AuditSink(ctx context.Context, node string, cfg audit.ChainConfig) (audit.Sink, error) {
	s, err := b.openAuditSink(ctx, node, cfg)
	if err != nil {
		return nil, err // not a typed nil in a non-nil audit.Sink
	}
	return s, nil
}

// openAuditSink opens node's audit chain for appending.
func (b *Backend) openAuditSink(ctx context.Context, node string, cfg audit.ChainConfig) (*AuditSink, error) {
	lock, ok, err := b.TryLock(ctx, "mima-audit-"+node)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("postgres: another running node uses the node id %q; give each node its own node_id", node)
	}
	s := &AuditSink{auditSource: auditSource{b: b, node: node}, cfg: auditConfig(cfg), lock: lock, wake: make(chan struct{}, 1), done: make(chan struct{})}
	err = b.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) + 1 FROM mima_audit WHERE node = $1`, node).Scan(&s.next)
	if err != nil {
		lock.Release()
		return nil, unavailable(err)
	}
	if s.last, err = s.Last(ctx); err == nil {
		err = s.openSegment(ctx)
	}
	if err != nil {
		lock.Release()
		return nil, err
	}
	go s.background(s.wake)
	s.kick()
	return s, nil
}

// appendLines inserts a batch numbered from $2 with one statement, which
// commits all of its rows or none in one round trip (a transaction around
// a row per statement took three).
const appendLines = `INSERT INTO mima_audit (node, seq, line, at)
	SELECT $1, $2::bigint + t.n - 1, t.line, $4 FROM unnest($3::bytea[]) WITH ORDINALITY AS t(line, n)`

// Append adds lines to the chain with one statement: all or none.
func (s *AuditSink) Append(ctx context.Context, lines [][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(lines) == 0 {
		return nil
	}
	if _, err := s.b.pool.Exec(ctx, appendLines, s.node, s.next, lines, s.seg.at); err != nil {
		return unavailable(err)
	}
	s.next += int64(len(lines))
	s.last = bytes.Clone(lines[len(lines)-1])
	for _, line := range lines {
		s.seg.bytes += int64(len(line)) + 1
	}
	return nil
}

// SaveCheckpoint keeps line as the node's latest checkpoint.
func (s *AuditSink) SaveCheckpoint(ctx context.Context, line []byte) error {
	_, err := s.b.pool.Exec(ctx, `INSERT INTO mima_audit_checkpoint (node, line) VALUES ($1, $2)
		ON CONFLICT (node) DO UPDATE SET line = EXCLUDED.line`, s.node, line)
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// Close stops the archiving and releases the node's hold on its chain.
func (s *AuditSink) Close() error {
	s.mu.Lock()
	if s.wake == nil {
		s.mu.Unlock()
		return nil
	}
	close(s.wake)
	s.wake = nil
	s.mu.Unlock()
	<-s.done
	s.lock.Release()
	return nil
}

// auditSource reads one node's chain.
type auditSource struct {
	b    *Backend
	node string
}

// AuditSource reads node's chain, for verification and export.
func (b *Backend) AuditSource(node string) audit.Source { return auditSource{b: b, node: node} }

// AuditNodes lists the nodes that have an audit chain.
func (b *Backend) AuditNodes(ctx context.Context) ([]string, error) {
	rows, err := b.pool.Query(ctx, `SELECT DISTINCT node FROM mima_audit ORDER BY node`)
	if err != nil {
		return nil, unavailable(err)
	}
	nodes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, unavailable(err)
	}
	return nodes, nil
}

// Scan calls fn with every line of the chain, in order.
func (s auditSource) Scan(ctx context.Context, fn func(line []byte) error) error {
	return s.ScanAfter(ctx, 0, fn)
}

// Last returns the chain's last line, or nil.
func (s auditSource) Last(ctx context.Context) ([]byte, error) {
	var line []byte
	err := s.b.pool.QueryRow(ctx, `SELECT line FROM mima_audit WHERE node = $1 ORDER BY seq DESC LIMIT 1`, s.node).Scan(&line)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return line, nil
}

// LoadCheckpoint returns the node's latest checkpoint, or nil.
func (s auditSource) LoadCheckpoint(ctx context.Context) ([]byte, error) {
	var line []byte
	err := s.b.pool.QueryRow(ctx, `SELECT line FROM mima_audit_checkpoint WHERE node = $1`, s.node).Scan(&line)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return line, nil
}
