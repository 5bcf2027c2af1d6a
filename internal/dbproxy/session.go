package dbproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mimacrypto/mima/sdk/fieldcrypt"
)

// kind is what a client message awaits from the server.
type kind int

const (
	kQuery kind = iota // a simple query: everything up to ReadyForQuery
	kParse
	kBind
	kClose
	kDescribeStmt
	kDescribePortal
	kExecute
	kSync
)

// pending is one awaited answer, in the order the client sent its messages.
type pending struct {
	kind kind
	plan *plan
	name string // statement or portal
	// refusal replaces the server's error for the statement the proxy
	// sent in place of one it refused.
	refusal *pgproto3.ErrorResponse
}

type statement struct {
	plan *plan
	cols []*Column // protected result columns, by position
}

type portal struct {
	stmt *statement
	cols []*Column
}

// session is one client connection and its server connection.
type session struct {
	p      *Proxy
	roles  []string // the database user, and a mima token's roles
	enc    encoder  // encrypts for this session
	client *pgproto3.Backend
	server *pgproto3.Frontend

	mu         sync.Mutex // guards what follows and writes to the client
	queue      []*pending
	statements map[string]*statement
	portals    map[string]*portal
	cur        []*Column // the columns of the current simple-query result
	suppress   bool      // after a proxy error in a result: drop until ReadyForQuery

	// client → server only
	discard bool  // after a proxy error in the extended protocol: until Sync
	copy    *plan // COPY FROM STDIN in progress
	copyBuf []byte
	copyBad bool
}

// fromClient relays the client's messages to the server, encrypting what
// the rules protect.
func (s *session) fromClient(ctx context.Context) error {
	for {
		m, err := s.client.Receive()
		if err != nil {
			return err
		}
		if err := s.clientMessage(ctx, m); err != nil {
			return err
		}
	}
}

func (s *session) clientMessage(ctx context.Context, m pgproto3.FrontendMessage) error {
	if s.discard {
		if _, ok := m.(*pgproto3.Sync); !ok {
			return nil
		}
		s.discard = false
	}
	switch m := m.(type) {
	case *pgproto3.Query:
		pl, err := s.p.Rules.analyze(m.String, s.enc)
		if err != nil {
			s.push(&pending{kind: kQuery, plan: &plan{}, refusal: errorResponse(err)})
			s.server.Send(&pgproto3.Query{String: refusedSQL})
			return s.server.Flush()
		}
		s.copy, s.copyBuf, s.copyBad = nil, nil, false
		if pl.copyIn {
			s.copy = pl
		}
		s.push(&pending{kind: kQuery, plan: pl})
		if pl.sql != m.String {
			m = &pgproto3.Query{String: pl.sql}
		}
		s.server.Send(m)
		return s.server.Flush()
	case *pgproto3.Parse:
		pl, err := s.p.Rules.analyze(m.Query, s.enc)
		if err == nil && pl.copyCols != nil {
			err = refuse("COPY on encrypted tables needs the simple query protocol")
		}
		if err != nil {
			return s.fail(err)
		}
		s.mu.Lock()
		s.statements[m.Name] = &statement{plan: pl}
		s.mu.Unlock()
		s.push(&pending{kind: kParse})
		s.server.Send(&pgproto3.Parse{Name: m.Name, Query: pl.sql, ParameterOIDs: m.ParameterOIDs})
	case *pgproto3.Bind:
		s.mu.Lock()
		st := s.statements[m.PreparedStatement]
		s.mu.Unlock()
		b := *m
		if st != nil {
			var err error
			if b.Parameters, b.ParameterFormatCodes, err = s.bindParams(st.plan, m); err != nil {
				return s.fail(err)
			}
		}
		s.mu.Lock()
		s.portals[m.DestinationPortal] = &portal{stmt: st}
		s.mu.Unlock()
		s.push(&pending{kind: kBind})
		s.server.Send(&b)
	case *pgproto3.Describe:
		k := kDescribeStmt
		if m.ObjectType == 'P' {
			k = kDescribePortal
		}
		s.push(&pending{kind: k, name: m.Name})
		s.server.Send(m)
	case *pgproto3.Execute:
		s.push(&pending{kind: kExecute, name: m.Portal})
		s.server.Send(m)
	case *pgproto3.Close:
		s.mu.Lock()
		if m.ObjectType == 'S' {
			delete(s.statements, m.Name)
		} else {
			delete(s.portals, m.Name)
		}
		s.mu.Unlock()
		s.push(&pending{kind: kClose})
		s.server.Send(m)
	case *pgproto3.Sync:
		s.push(&pending{kind: kSync})
		s.server.Send(m)
		return s.server.Flush()
	case *pgproto3.CopyData:
		return s.copyData(ctx, m.Data, false)
	case *pgproto3.CopyDone:
		return s.copyData(ctx, nil, true)
	case *pgproto3.CopyFail:
		s.copy = nil
		s.server.Send(m)
		return s.server.Flush()
	case *pgproto3.Terminate:
		s.server.Send(m)
		_ = s.server.Flush()
		return errClosed
	default:
		s.server.Send(m)
		return s.server.Flush()
	}
	return nil
}

var errClosed = errors.New("dbproxy: client closed")

// refusedSQL is what the proxy sends in place of a statement it refuses:
// a syntax error, so that the server fails the transaction (and the rest
// of an extended-protocol batch) as it would have failed the statement;
// the client gets the proxy's error in place of the server's.
const refusedSQL = "mima dbproxy refused this statement"

// fail answers an extended-protocol message with the proxy's error and
// drops the client's messages up to its Sync, as PostgreSQL does.
func (s *session) fail(err error) error {
	s.push(&pending{kind: kParse, refusal: errorResponse(err)})
	s.server.Send(&pgproto3.Parse{Query: refusedSQL})
	s.discard = true
	return nil
}

// bindParams encrypts the parameters the statement's plan names and
// appends those the proxy added.
func (s *session) bindParams(pl *plan, m *pgproto3.Bind) ([][]byte, []int16, error) {
	if len(pl.params) == 0 && len(pl.added) == 0 {
		return m.Parameters, m.ParameterFormatCodes, nil
	}
	params := make([][]byte, len(m.Parameters), len(m.Parameters)+len(pl.added))
	copy(params, m.Parameters)
	one := func(op paramOp, v []byte) ([]byte, error) {
		if v == nil {
			return nil, nil
		}
		out, err := s.enc(op.col, op.index, string(v))
		return []byte(out), err
	}
	for n, op := range pl.params {
		if n < 1 || n > len(params) {
			continue // PostgreSQL refuses the wrong count itself
		}
		var err error
		if params[n-1], err = one(op, m.Parameters[n-1]); err != nil {
			return nil, nil, err
		}
	}
	formats := m.ParameterFormatCodes
	for _, op := range pl.added {
		if op.from > len(m.Parameters) {
			return nil, nil, refuse("expected %d parameters", pl.clientParams)
		}
		v, err := one(op, m.Parameters[op.from-1])
		if err != nil {
			return nil, nil, err
		}
		params = append(params, v)
		if len(m.ParameterFormatCodes) > 1 {
			formats = append(formats, m.ParameterFormatCodes[op.from-1])
		}
	}
	return params, formats, nil
}

// encoder encrypts literals and parameters for this session; its errors
// name the column, never the value.
func (s *session) encoder(ctx context.Context) encoder {
	return func(c *Column, index bool, v string) (string, error) {
		var out []byte
		var err error
		if index {
			out, err = s.p.Codec.Index(ctx, &c.field, []byte(v))
		} else {
			out, err = s.p.Codec.Encrypt(ctx, &c.field, []byte(v))
		}
		if err != nil {
			return "", keyError(c, err)
		}
		return string(out), nil
	}
}

func keyError(c *Column, err error) error {
	state := stateKeys
	switch {
	case errors.Is(err, fieldcrypt.ErrInput):
		state = "22023" // invalid_parameter_value
	case errors.Is(err, fieldcrypt.ErrFormat), errors.Is(err, fieldcrypt.ErrAuth):
		state = "XX001" // data_corrupted
	}
	return &sqlError{state: state, msg: fmt.Sprintf("mima dbproxy: %s.%s: %v", c.Table, c.Column, err), err: err}
}

func errorResponse(err error) *pgproto3.ErrorResponse {
	var e *sqlError
	if errors.As(err, &e) {
		return &pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: e.state, Message: e.msg}
	}
	return &pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: stateKeys, Message: "mima dbproxy: " + err.Error()}
}

// push queues an awaited answer.
func (s *session) push(p *pending) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, p)
}

func (p *Proxy) log() *slog.Logger {
	if p.Logger == nil {
		return slog.Default()
	}
	return p.Logger
}
