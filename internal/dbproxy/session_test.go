package dbproxy

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
)

// TestClosedStatementsAreForgotten: a client that prepares and closes
// statements without end (pgx's statement cache does) leaves no trace in
// the session, so memory stays flat.
func TestClosedStatementsAreForgotten(t *testing.T) {
	s := newTestSession(t, io.Discard)
	ctx := context.Background()
	for _, m := range []pgproto3.FrontendMessage{
		&pgproto3.Parse{Name: "s1", Query: "SELECT phone FROM customers WHERE phone = $1"},
		&pgproto3.Bind{DestinationPortal: "p1", PreparedStatement: "s1", Parameters: [][]byte{nil}},
		&pgproto3.Close{ObjectType: 'P', Name: "p1"},
		&pgproto3.Close{ObjectType: 'S', Name: "s1"},
	} {
		if err := s.clientMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.statements) != 0 || len(s.portals) != 0 {
		t.Errorf("%d statements and %d portals kept after Close", len(s.statements), len(s.portals))
	}
}

// newTestSession is a session whose server messages go to server.
func newTestSession(t *testing.T, server io.Writer) *session {
	return &session{p: &Proxy{Rules: testRules(t)}, server: pgproto3.NewFrontend(bytes.NewReader(nil), server),
		statements: map[string]*statement{}, portals: map[string]*portal{}}
}

// TestCopyStateEndsWithItsQuery: the COPY FROM state of one query does not
// outlive it: a later COPY into another table (after the first failed
// before its data) is relayed as it is, and COPY in the extended protocol,
// which the proxy does not encrypt, is refused.
func TestCopyStateEndsWithItsQuery(t *testing.T) {
	var sent bytes.Buffer
	s := newTestSession(t, &sent)
	ctx := context.Background()
	for _, m := range []pgproto3.FrontendMessage{
		&pgproto3.Query{String: "COPY customers (id, phone) FROM STDIN"},
		&pgproto3.Query{String: "COPY other (a, b) FROM STDIN"},
		&pgproto3.CopyData{Data: []byte("1\tplain\n")},
		&pgproto3.CopyDone{},
		&pgproto3.Sync{},
	} {
		if err := s.clientMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Contains(sent.Bytes(), []byte("1\tplain\n")) {
		t.Error("another table's COPY data was rewritten")
	}
	if err := s.clientMessage(ctx, &pgproto3.Parse{Query: "COPY customers (id, phone) FROM STDIN"}); err != nil || !s.discard {
		t.Errorf("COPY FROM in the extended protocol was not refused (%v)", err)
	}
}
