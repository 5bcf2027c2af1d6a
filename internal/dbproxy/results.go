package dbproxy

import (
	"context"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mimacrypto/mima/sdk/fieldcrypt"
)

// fromServer relays the server's messages to the client, decrypting or
// masking protected result columns by the client's role.
func (s *session) fromServer(ctx context.Context) error {
	for {
		m, err := s.server.Receive()
		if err != nil {
			return err
		}
		s.mu.Lock()
		out := s.serverMessage(ctx, m)
		if out != nil {
			s.client.Send(out)
		}
		if s.server.ReadBufferLen() == 0 {
			err = s.client.Flush()
		}
		s.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

func (s *session) head() *pending {
	if len(s.queue) == 0 {
		return &pending{kind: kSync}
	}
	return s.queue[0]
}

func (s *session) pop() {
	if len(s.queue) > 0 {
		s.queue = s.queue[1:]
	}
}

// serverMessage updates the session for m and returns what the client
// gets in its place (nil: nothing). It runs with s.mu held.
func (s *session) serverMessage(ctx context.Context, m pgproto3.BackendMessage) pgproto3.BackendMessage {
	h := s.head()
	if _, ok := m.(*pgproto3.ReadyForQuery); ok {
		s.suppress, s.cur = false, nil
		for len(s.queue) > 0 {
			k := s.queue[0].kind
			s.pop()
			if k == kQuery || k == kSync {
				break
			}
		}
		return m
	}
	if s.suppress {
		return nil
	}
	switch m := m.(type) {
	case *pgproto3.ParseComplete, *pgproto3.BindComplete, *pgproto3.CloseComplete, *pgproto3.NoData:
		if h.kind != kQuery && h.kind != kSync {
			s.pop()
		}
	case *pgproto3.ParameterDescription:
		if st := s.statements[h.name]; h.kind == kDescribeStmt && st != nil && len(st.plan.added) > 0 && len(m.ParameterOIDs) > st.plan.clientParams {
			return &pgproto3.ParameterDescription{ParameterOIDs: m.ParameterOIDs[:st.plan.clientParams]}
		}
	case *pgproto3.RowDescription:
		switch h.kind {
		case kQuery:
			s.cur = s.resultColumns(h.plan, m)
		case kDescribeStmt:
			if st := s.statements[h.name]; st != nil {
				st.cols = s.resultColumns(st.plan, m)
			}
			s.pop()
		case kDescribePortal:
			if pt := s.portals[h.name]; pt != nil && pt.stmt != nil {
				pt.cols = s.resultColumns(pt.stmt.plan, m)
			}
			s.pop()
		}
	case *pgproto3.DataRow:
		cols := s.cur
		if h.kind == kExecute {
			if pt := s.portals[h.name]; pt != nil {
				cols = pt.cols
				if cols == nil && pt.stmt != nil {
					cols = pt.stmt.cols
				}
			}
		}
		return s.row(ctx, cols, m)
	case *pgproto3.CopyData:
		if h.kind == kQuery && h.plan.copyCols != nil && !h.plan.copyIn {
			line, err := s.copyLine(ctx, h.plan.copyCols, m.Data, s.revealText)
			if err != nil {
				s.suppress = true
				return errorResponse(err)
			}
			return &pgproto3.CopyData{Data: line}
		}
	case *pgproto3.CommandComplete, *pgproto3.EmptyQueryResponse, *pgproto3.PortalSuspended:
		s.cur = nil
		if h.kind == kExecute {
			s.pop()
		}
	case *pgproto3.ErrorResponse:
		s.cur = nil
		var out pgproto3.BackendMessage = m
		if h.refusal != nil {
			out = h.refusal
		}
		for h.kind != kQuery && h.kind != kSync && len(s.queue) > 0 {
			s.pop()
			h = s.head()
		}
		return out
	}
	return m
}

// resultColumns says which columns of a result are protected: those the
// plan renamed from a protected column, and direct columns (with a table)
// whose name is a protected column of a table the SQL names.
func (s *session) resultColumns(pl *plan, rd *pgproto3.RowDescription) []*Column {
	if pl == nil || len(pl.tables) == 0 {
		return nil
	}
	var cols []*Column
	for i, f := range rd.Fields {
		c := pl.outputs[string(f.Name)]
		for _, t := range pl.tables {
			if c != nil || f.TableOID == 0 {
				break
			}
			c = s.p.Rules.Lookup(t, string(f.Name))
		}
		if c != nil {
			if cols == nil {
				cols = make([]*Column, len(rd.Fields))
			}
			cols[i] = c
		}
	}
	return cols
}

// row reveals a row's protected values; on failure the client gets an
// error instead, and the rest of the result is dropped.
func (s *session) row(ctx context.Context, cols []*Column, m *pgproto3.DataRow) pgproto3.BackendMessage {
	if cols == nil {
		return m
	}
	out := &pgproto3.DataRow{Values: make([][]byte, len(m.Values))}
	for i, v := range m.Values {
		out.Values[i] = v
		if i < len(cols) && cols[i] != nil && v != nil {
			r, err := s.reveal(ctx, cols[i], v)
			if err != nil {
				s.suppress = true
				return errorResponse(err)
			}
			out.Values[i] = r
		}
	}
	return out
}

// reveal is what the session's role sees of a stored value of c.
func (s *session) reveal(ctx context.Context, c *Column, stored []byte) ([]byte, error) {
	v := c.viewOf(s.roles)
	if v == viewStored || !c.field.Reversible() {
		return stored, nil
	}
	pt := stored
	if fieldcrypt.Protected(&c.field, stored) || c.Mode == fieldcrypt.FPE {
		var err error
		if pt, err = s.p.Codec.Decrypt(ctx, &c.field, stored); err != nil {
			return nil, keyError(c, err)
		}
	}
	if v == viewMask {
		return s.p.Codec.Encrypt(ctx, &c.masker, pt)
	}
	return pt, nil
}

func (s *session) revealText(ctx context.Context, c *Column, v string) (string, error) {
	r, err := s.reveal(ctx, c, []byte(v))
	return string(r), err
}
