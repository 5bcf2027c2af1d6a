package dbproxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"net"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mimacrypto/mima/sdk/fieldcrypt"
	"github.com/mimacrypto/mima/sdk/fieldcrypt/fieldcrypttest"
)

// TestTLSToClients: a client that asks for TLS gets it from the proxy.
func TestTLSToClients(t *testing.T) {
	cert := selfSigned(t, "dbproxy.test")
	f := start(t, func(p *Proxy) { p.TLS = &tls.Config{Certificates: []tls.Certificate{cert}} })
	u, _ := url.Parse(f.as(f.billing))
	u.RawQuery = "sslmode=require"
	c := connect(t, u.String())
	if _, ok := c.PgConn().Conn().(*tls.Conn); !ok {
		t.Fatalf("the connection is %T, not TLS", c.PgConn().Conn())
	}
	execSQL(t, c, "INSERT INTO customers (id, phone) VALUES ($1, $2)", 1, "13812345678")
	if got := one(t, c, "SELECT phone FROM customers WHERE phone = $1", "13812345678"); len(got) != 1 || got[0] != "13812345678" {
		t.Errorf("over TLS: %q", got)
	}
}

// TestTLSToServer: with sslmode=require in the upstream URL, the proxy's
// connection to PostgreSQL is TLS (the server says so).
func TestTLSToServer(t *testing.T) {
	f := start(t, func(p *Proxy) {
		up, err := ParseUpstream("postgres://" + p.Upstream.Addr + "/postgres?sslmode=require")
		if err != nil {
			t.Fatal(err)
		}
		p.Upstream = up
	})
	c := connect(t, f.as(f.billing))
	if got := one(t, c, "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()"); got[0] != "true" {
		t.Errorf("the server sees ssl = %s", got[0])
	}
}

// TestPasswordPassesThrough: the proxy relays an MD5 password exchange
// between a real client (pgx) and the server, and the server's refusal
// with its SQLSTATE. The server here is a scripted one, since the
// test PostgreSQL trusts every local connection.
func TestPasswordPassesThrough(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	salt := [4]byte{1, 2, 3, 4}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := pgproto3.NewBackend(c, c)
				m, err := b.ReceiveStartupMessage()
				if err != nil {
					return
				}
				user := m.(*pgproto3.StartupMessage).Parameters["user"]
				b.Send(&pgproto3.AuthenticationMD5Password{Salt: salt})
				_ = b.Flush()
				_ = b.SetAuthType(pgproto3.AuthTypeMD5Password)
				r, err := b.Receive()
				if err != nil {
					return
				}
				inner := md5.Sum([]byte("s3cret" + user))
				outer := md5.Sum(append([]byte(hex.EncodeToString(inner[:])), salt[:]...))
				if pw, ok := r.(*pgproto3.PasswordMessage); !ok || pw.Password != "md5"+hex.EncodeToString(outer[:]) {
					b.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28P01", Message: "password authentication failed"})
					_ = b.Flush()
					return
				}
				b.Send(&pgproto3.AuthenticationOk{})
				b.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
				_ = b.Flush()
				_, _ = b.Receive() // Terminate
			}()
		}
	}()
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- (&Proxy{Rules: testRules(t), Codec: fieldcrypt.New(&fieldcrypttest.Keys{}, fieldcrypt.Limits{}, nil),
			Upstream: &Upstream{Addr: ln.Addr().String()}}).Serve(ctx, pln)
	}()
	defer func() {
		cancel()
		<-served
	}()
	dsn := func(pw string) string {
		return "postgres://app:" + pw + "@" + pln.Addr().String() + "/db?sslmode=disable"
	}
	c, err := pgxConnect(dsn("s3cret"))
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	c.Close(context.Background())
	if _, err := pgxConnect(dsn("wrong")); sqlState(err) != "28P01" || !strings.Contains(err.Error(), "password authentication failed") {
		t.Errorf("wrong password: %v", err)
	}
}

// TestTokenRoles: a mima token in the startup options (mima_token, or
// -c mima.token= in options for libpq clients) adds its roles to the
// database user's; it never reaches PostgreSQL, and a bad one is refused.
func TestTokenRoles(t *testing.T) {
	var f *fixture
	f = start(t, func(p *Proxy) {
		p.TokenRoles = func(_ context.Context, token string) ([]string, error) {
			if token != "good-token" {
				return nil, errors.New("unknown token")
			}
			return []string{f.billing}, nil
		}
	})
	execSQL(t, connect(t, f.proxy), "INSERT INTO customers (id, phone) VALUES ($1, $2)", 1, "13812345678")
	u, _ := url.Parse(f.proxy)
	q := u.Query()
	q.Set("mima_token", "good-token")
	u.RawQuery = q.Encode()
	if got := one(t, connect(t, u.String()), "SELECT phone FROM customers"); got[0] != "13812345678" {
		t.Errorf("with the token's role: %q", got)
	}
	q.Set("mima_token", "bad-token")
	u.RawQuery = q.Encode()
	_, err := pgxConnect(u.String())
	if sqlState(err) != "28000" || strings.Contains(err.Error(), "bad-token") {
		t.Errorf("bad token: %v", err)
	}
	if _, err := exec.LookPath("psql"); err == nil {
		out, err := exec.Command("psql", "-X", "-At", "-d", f.proxy+"&options=-c%20mima.token%3Dgood-token", "-c", "SELECT phone FROM customers").CombinedOutput()
		if err != nil || string(out) != "13812345678\n" {
			t.Errorf("psql with options: %v %q", err, out)
		}
	}
}

// selfSigned is a self-signed P-256 certificate for name.
func selfSigned(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Unix(0, 0), NotAfter: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), DNSNames: []string{name}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
