package postgres

import (
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
	pipe *pipeline
	mu   sync.Mutex
	next int64 // seq of the next line
	sent int   // batches sent and not yet answered
	last []byte
	// lastSeq is the seq of last.
	lastSeq int64
	seg     activeSegment

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
	// The node holds its chain's lock: the head is where its rows end.
	err = b.pool.QueryRow(ctx, `INSERT INTO mima_audit_head (node, seq)
		SELECT $1, coalesce(max(seq), 0) FROM mima_audit WHERE node = $1
		ON CONFLICT (node) DO UPDATE SET seq = EXCLUDED.seq RETURNING seq + 1`, node).Scan(&s.next)
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
	s.pipe = newPipeline(&b.pool.Config().ConnConfig.Config)
	go s.background(s.wake)
	s.kick()
	return s, nil
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
	s.mu.Lock()
	pipe := s.pipe
	s.pipe = nil
	s.mu.Unlock()
	pipe.close()
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

// Last returns the chain's last line, or nil, and when no batch is in
// flight numbers the next from it: after a failed append, the Logger reads
// Last before it sends again.
func (s *AuditSink) Last(ctx context.Context) ([]byte, error) {
	var seq int64
	var line []byte
	err := s.b.pool.QueryRow(ctx, `SELECT seq, line FROM mima_audit WHERE node = $1 ORDER BY seq DESC LIMIT 1`, s.node).Scan(&seq, &line)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		line = nil
	case err != nil:
		return nil, unavailable(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sent == 0 {
		s.next, s.last, s.lastSeq = seq+1, line, seq
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
