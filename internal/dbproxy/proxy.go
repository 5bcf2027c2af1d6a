// Package dbproxy is a PostgreSQL wire-protocol proxy that encrypts the
// columns its rules protect on the way to the database and decrypts or
// masks them, by the client's role, on the way back (docs/dbproxy.md).
// Values are fieldcrypt's, so a table written through the proxy holds the
// same bytes as one that mima bulk encrypted with the same settings.
//
// SQL is parsed with PostgreSQL's own grammar (pg_query). Equality on a
// deterministic, FPE, pseudonym or blind-index column is rewritten to
// compare what is stored; any other use of a protected column is refused
// with SQLSTATE 0A000 rather than answered wrongly on ciphertext.
package dbproxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mimacrypto/mima/sdk/fieldcrypt"
)

// Proxy relays PostgreSQL connections to Upstream.
type Proxy struct {
	Rules *Rules
	Codec *fieldcrypt.Codec
	// Upstream is the server's address and TLS settings; clients
	// authenticate to it with their own credentials, passed through.
	Upstream *Upstream
	// TLS, when set, is offered to clients that ask for it.
	TLS *tls.Config
	// TokenRoles returns the roles of a mima token that a client gives
	// in its startup options; nil refuses such clients.
	TokenRoles func(ctx context.Context, token string) ([]string, error)
	Logger     *slog.Logger
}

// Upstream is where the proxy connects.
type Upstream struct {
	Addr string
	TLS  *tls.Config // nil: plaintext
}

// ParseUpstream reads a PostgreSQL URL or DSN for its host, port and
// sslmode; its user, password and database are not used.
func ParseUpstream(dsn string) (*Upstream, error) {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("dbproxy: upstream: %w", err)
	}
	return &Upstream{Addr: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), TLS: cfg.TLSConfig}, nil
}

// Serve accepts connections on ln until ctx ends or ln fails.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("dbproxy: accept: %w", err)
		}
		go func() {
			if err := p.handle(ctx, c); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, errClosed) && !errors.Is(err, net.ErrClosed) {
				p.log().Info("dbproxy: connection ended", "remote", c.RemoteAddr().String(), "err", err)
			}
		}()
	}
}

// handle serves one client connection.
func (p *Proxy) handle(ctx context.Context, c net.Conn) error {
	defer c.Close()
	client := pgproto3.NewBackend(c, c)
	var startup *pgproto3.StartupMessage
	for startup == nil {
		m, err := client.ReceiveStartupMessage()
		if err != nil {
			return err
		}
		switch m := m.(type) {
		case *pgproto3.SSLRequest:
			if p.TLS == nil {
				if _, err := c.Write([]byte{'N'}); err != nil {
					return err
				}
				continue
			}
			if _, err := c.Write([]byte{'S'}); err != nil {
				return err
			}
			c = tls.Server(c, p.TLS)
			client = pgproto3.NewBackend(c, c)
		case *pgproto3.GSSEncRequest:
			if _, err := c.Write([]byte{'N'}); err != nil {
				return err
			}
		case *pgproto3.CancelRequest:
			return p.cancel(ctx, m)
		case *pgproto3.StartupMessage:
			startup = m
		}
	}
	roles, err := p.roles(ctx, startup)
	if err != nil {
		return fatal(client, "28000", "the mima token is not accepted", err)
	}
	u, err := p.dial(ctx)
	if err != nil {
		return fatal(client, "08006", "the database cannot be reached", err)
	}
	s := &session{p: p, roles: roles, client: client, server: pgproto3.NewFrontend(u, u),
		statements: map[string]*statement{}, portals: map[string]*portal{}}
	s.enc = s.encoder(ctx)
	defer u.Close()
	s.server.Send(startup)
	if err := s.server.Flush(); err != nil {
		return err
	}
	if err := s.authenticate(); err != nil {
		return err
	}
	done := make(chan error, 2)
	go func() { done <- guard(func() error { return s.fromClient(ctx) }) }()
	go func() { done <- guard(func() error { return s.fromServer(ctx) }) }()
	err = <-done
	_ = c.Close()
	_ = u.Close()
	<-done
	return err
}

// fatal ends a connection with the proxy's error to the client, and
// returns err.
func fatal(client *pgproto3.Backend, code, msg string, err error) error {
	client.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: code, Message: "mima dbproxy: " + msg})
	_ = client.Flush()
	return err
}

// errChannelBinding ends a SCRAM exchange that the server would refuse:
// the client can bind the channel, the server offered binding (to its
// own TLS connection, which the proxy holds), and the proxy, which ends
// the client's TLS, could not pass the binding on.
var errChannelBinding = errors.New("dbproxy: SCRAM channel binding cannot pass through the proxy")

// roles are the client's roles: its database user and the roles of the
// mima token it gives as startup parameter mima_token, or in options as
// "-c mima.token=T" (libpq clients). The token is taken out of the
// startup message: PostgreSQL never sees it.
func (p *Proxy) roles(ctx context.Context, m *pgproto3.StartupMessage) ([]string, error) {
	roles := []string{m.Parameters["user"]}
	token, ok := m.Parameters["mima_token"]
	delete(m.Parameters, "mima_token")
	if opts, has := m.Parameters["options"]; has {
		var kept []string
		fields := strings.Fields(opts)
		for i := 0; i < len(fields); i++ {
			if fields[i] == "-c" && i+1 < len(fields) && strings.HasPrefix(fields[i+1], "mima.token=") {
				token, ok = strings.TrimPrefix(fields[i+1], "mima.token="), true
				i++
				continue
			}
			kept = append(kept, fields[i])
		}
		m.Parameters["options"] = strings.Join(kept, " ")
	}
	if !ok {
		return roles, nil
	}
	if p.TokenRoles == nil {
		return nil, errors.New("dbproxy: a client gave a mima token, and this proxy takes none")
	}
	more, err := p.TokenRoles(ctx, token)
	if err != nil {
		return nil, fmt.Errorf("dbproxy: the client's mima token: %w", err)
	}
	return append(roles, more...), nil
}

// dial connects to the upstream server, with TLS when it asks for it.
func (p *Proxy) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	u, err := d.DialContext(ctx, "tcp", p.Upstream.Addr)
	if err != nil || p.Upstream.TLS == nil {
		return u, err
	}
	req, err := (&pgproto3.SSLRequest{}).Encode(nil)
	if err == nil {
		_, err = u.Write(req)
	}
	if err != nil {
		u.Close()
		return nil, err
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(u, b); err != nil || b[0] != 'S' {
		u.Close()
		return nil, fmt.Errorf("dbproxy: the upstream server refuses TLS (%v)", err)
	}
	return tls.Client(u, p.Upstream.TLS), nil
}

// cancel passes a cancel request to the server: the key the client holds
// is the server's own, passed through at startup.
func (p *Proxy) cancel(ctx context.Context, m *pgproto3.CancelRequest) error {
	u, err := p.dial(ctx)
	if err != nil {
		return err
	}
	defer u.Close()
	b, err := m.Encode(nil)
	if err != nil {
		return err
	}
	_, err = u.Write(b)
	return err
}

// authenticate relays the authentication exchange, whatever its method,
// until the server is ready for queries.
func (s *session) authenticate() error {
	bindable := false // the server offered SCRAM channel binding
	for {
		m, err := s.server.Receive()
		if err != nil {
			return err
		}
		answer := false
		switch m := m.(type) {
		case *pgproto3.AuthenticationSASL:
			// The proxy ends the client's TLS, so channel binding
			// (-PLUS) could not match: offer the plain mechanisms.
			var mechs []string
			for _, x := range m.AuthMechanisms {
				if strings.HasSuffix(x, "-PLUS") {
					bindable = true
				} else {
					mechs = append(mechs, x)
				}
			}
			m.AuthMechanisms = mechs
			answer = true
		case *pgproto3.AuthenticationCleartextPassword, *pgproto3.AuthenticationMD5Password, *pgproto3.AuthenticationSASLContinue:
			answer = true
		case *pgproto3.ErrorResponse:
			s.client.Send(m)
			_ = s.client.Flush()
			return errClosed
		}
		if err := s.client.SetAuthType(s.server.GetAuthType()); err != nil {
			return err
		}
		s.client.Send(m)
		if err := s.client.Flush(); err != nil {
			return err
		}
		if _, ok := m.(*pgproto3.ReadyForQuery); ok {
			return nil
		}
		if answer {
			r, err := s.client.Receive()
			if err != nil {
				return err
			}
			if first, ok := r.(*pgproto3.SASLInitialResponse); ok && bindable && bytes.HasPrefix(first.Data, []byte("y,")) {
				// The client can bind but was offered no binding; the
				// server would take that for a downgrade attack, and
				// the flag is signed: only the client can change it.
				return fatal(s.client, "28000", "SCRAM channel binding cannot pass through the proxy: connect with channel_binding=disable, or without TLS to the proxy", errChannelBinding)
			}
			s.server.Send(r)
			if err := s.server.Flush(); err != nil {
				return err
			}
		}
	}
}

// guard runs f, turning a panic into an error so that a bug met by one
// connection ends that connection, not every connection of the proxy.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("dbproxy: internal error: %v", r)
		}
	}()
	return f()
}
