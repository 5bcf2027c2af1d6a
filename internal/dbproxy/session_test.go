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
	s := &session{p: &Proxy{Rules: testRules(t)}, server: pgproto3.NewFrontend(bytes.NewReader(nil), io.Discard),
		statements: map[string]*statement{}, portals: map[string]*portal{}}
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
