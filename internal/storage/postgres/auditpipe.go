package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
)

// appendLines inserts a batch numbered from $2 with one statement, which
// commits all of its rows or none. It commits only if the chain's head in
// mima_audit_head is the record just before the batch, and moves the head
// to its last record: a batch sent after one that failed therefore fails
// too, so the chain never has a gap, however many batches are in flight.
const appendLines = `WITH head AS (
		UPDATE mima_audit_head SET seq = $2 + cardinality($3::bytea[]) - 1
		WHERE node = $1 AND seq = $2 - 1 RETURNING seq)
	INSERT INTO mima_audit (node, seq, line, at)
	SELECT $1, $2 + t.n - 1, t.line, $4
	FROM unnest($3::bytea[]) WITH ORDINALITY AS t(line, n)
	CROSS JOIN (SELECT mima_expect(EXISTS (SELECT 1 FROM head))) AS c`

// appendOIDs are the types of appendLines' parameters.
var appendOIDs = []uint32{pgtype.TextOID, pgtype.Int8OID, pgtype.ByteaArrayOID, pgtype.TimestamptzOID}

// errSinkClosed is the error of an append after Close.
var errSinkClosed = errors.New("postgres: the audit sink is closed")

// pipeDepth bounds the batches sent and not yet answered, and
// pipeWriteTimeout how long sending one may take.
const (
	pipeDepth        = 16
	pipeWriteTimeout = 30 * time.Second
)

// pipeline sends the audit sink's batches on a connection of its own
// without waiting for one to commit before sending the next: each batch is
// one statement of the extended protocol ending in Sync, so its own
// transaction, and the answers come back in the order sent. A round trip to
// the database then costs each batch its latency, not the throughput of the
// chain. A failed connection fails every batch in flight on it; the next
// batch connects again.
type pipeline struct {
	cfg   *pgconn.Config
	types *pgtype.Map
	sends chan *pipeSend

	conn *pipeConn // owned by the sending goroutine
	done chan struct{}
}

// pipeSend is one batch: what to append, and its answer.
type pipeSend struct {
	node  string
	first int64
	lines [][]byte
	at    time.Time

	err  error         // set before done is closed
	done chan struct{} // closed when the batch is committed or failed
}

// pipeConn is one connection and the batches waiting for its answers.
type pipeConn struct {
	nc      net.Conn
	fe      *pgproto3.Frontend
	waiting chan *pipeSend // sent, answered in this order by read
	broken  chan struct{}  // closed by read when the connection fails
	once    sync.Once
}

func newPipeline(cfg *pgconn.Config) *pipeline {
	p := &pipeline{cfg: cfg, types: pgtype.NewMap(), sends: make(chan *pipeSend, pipeDepth), done: make(chan struct{})}
	go p.run()
	return p
}

// send queues s behind every batch sent before it.
func (p *pipeline) send(s *pipeSend) { p.sends <- s }

// close stops the pipeline once the queued batches are answered.
func (p *pipeline) close() {
	close(p.sends)
	<-p.done
}

// run is the sending goroutine.
func (p *pipeline) run() {
	defer close(p.done)
	for s := range p.sends {
		if p.conn != nil && p.conn.failed() {
			p.drop()
		}
		if p.conn == nil {
			c, err := p.connect()
			if err != nil {
				s.finish(unavailable(err))
				continue
			}
			p.conn = c
		}
		if err := p.write(s); err != nil {
			s.finish(unavailable(err))
			p.drop()
			continue
		}
		p.conn.waiting <- s
	}
	if p.conn != nil {
		p.drop()
	}
}

// connect opens a connection, takes it over from pgconn and prepares the
// append statement on it.
func (p *pipeline) connect() (*pipeConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc, err := pgconn.ConnectConfig(ctx, p.cfg)
	if err != nil {
		return nil, err
	}
	hc, err := pc.Hijack()
	if err != nil {
		_ = pc.Close(ctx)
		return nil, err
	}
	c := &pipeConn{nc: hc.Conn, fe: hc.Frontend, waiting: make(chan *pipeSend, pipeDepth), broken: make(chan struct{})}
	buf, err := (&pgproto3.Parse{Name: "mima_audit_append", Query: appendLines, ParameterOIDs: appendOIDs}).Encode(nil)
	if err == nil {
		buf, err = (&pgproto3.Sync{}).Encode(buf)
	}
	if err == nil {
		_ = c.nc.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err = c.nc.Write(buf); err == nil {
			err = c.answer()
		}
		_ = c.nc.SetDeadline(time.Time{})
	}
	if err != nil {
		_ = c.nc.Close()
		return nil, fmt.Errorf("postgres: preparing the audit append: %w", err)
	}
	go c.read()
	return c, nil
}

// write sends s as Bind, Execute and Sync of the prepared statement.
func (p *pipeline) write(s *pipeSend) error {
	args := []any{s.node, s.first, s.lines, s.at}
	params := make([][]byte, len(args))
	for i, a := range args {
		v, err := p.types.Encode(appendOIDs[i], pgtype.BinaryFormatCode, a, nil)
		if err != nil {
			return err
		}
		params[i] = v
	}
	buf, err := (&pgproto3.Bind{PreparedStatement: "mima_audit_append", ParameterFormatCodes: []int16{pgtype.BinaryFormatCode}, Parameters: params}).Encode(nil)
	if err == nil {
		buf, err = (&pgproto3.Execute{}).Encode(buf)
	}
	if err == nil {
		buf, err = (&pgproto3.Sync{}).Encode(buf)
	}
	if err != nil {
		return err
	}
	// A database that stops reading must not stall the sender for ever:
	// the batch fails and the connection is dropped.
	if err := p.conn.nc.SetWriteDeadline(time.Now().Add(pipeWriteTimeout)); err != nil {
		return err
	}
	_, err = p.conn.nc.Write(buf)
	return err
}

// drop closes the connection; the batches still waiting on it fail.
func (p *pipeline) drop() {
	_ = p.conn.nc.Close()
	close(p.conn.waiting)
	p.conn = nil
}

// read answers the batches sent on c in order.
func (c *pipeConn) read() {
	for s := range c.waiting {
		s.finish(c.answer())
	}
}

// failed reports whether read found the connection broken.
func (c *pipeConn) failed() bool {
	select {
	case <-c.broken:
		return true
	default:
		return false
	}
}

// answer reads the answer to one statement, up to ReadyForQuery: nil, the
// statement's error, or the connection's (which marks it broken).
func (c *pipeConn) answer() error {
	var stmtErr error
	for {
		msg, err := c.fe.Receive()
		if err != nil {
			c.once.Do(func() { close(c.broken) })
			return unavailable(err)
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			stmtErr = pgconn.ErrorResponseToPgError(m)
		case *pgproto3.ReadyForQuery:
			return stmtErr
		}
	}
}

// finish answers s with err.
func (s *pipeSend) finish(err error) {
	s.err = err
	close(s.done)
}

// wait returns the batch's answer, or ctx's error if it comes first.
func (s *pipeSend) wait(ctx context.Context) error {
	select {
	case <-s.done:
		return s.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Send appends lines after every batch sent before, without waiting for
// those to commit, and returns at once: wait reports when the lines are
// durable, or why not. A batch sent after one that failed fails too, so
// that no line is ever in the chain after one that is not
// (audit.Pipeliner).
func (s *AuditSink) Send(lines [][]byte) (wait func(context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := &pipeSend{node: s.node, first: s.next, lines: lines, at: s.seg.at, done: make(chan struct{})}
	switch {
	case s.pipe == nil:
		ps.finish(errSinkClosed)
		return ps.wait
	case len(lines) == 0:
		ps.finish(nil)
		return ps.wait
	}
	s.next += int64(len(lines))
	for _, line := range lines {
		s.seg.bytes += int64(len(line)) + 1
	}
	s.sent++
	s.pipe.send(ps)
	return func(ctx context.Context) error {
		err := ps.wait(ctx)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.sent--
		if err != nil {
			// What this batch numbered from is where the chain ends if
			// it failed alone; Last reads the truth from the database.
			s.next = min(s.next, ps.first)
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) {
				err = unavailable(err)
			}
			return err
		}
		// Batches are answered in order, but their waits may return in
		// any: the last line is the one with the highest seq.
		if end := ps.first + int64(len(lines)) - 1; end > s.lastSeq {
			s.last, s.lastSeq = bytes.Clone(lines[len(lines)-1]), end
		}
		return nil
	}
}

// Append adds lines to the chain with one statement: all or none.
func (s *AuditSink) Append(ctx context.Context, lines [][]byte) error {
	return s.Send(lines)(ctx)
}
