package dbproxy

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/storage/postgres/pgtest"
)

// scramServer starts a private PostgreSQL that offers TLS and asks TCP
// clients for SCRAM-SHA-256 passwords (but its superuser, which the
// fixture uses), and returns its DSN.
func scramServer(t *testing.T) string {
	t.Helper()
	srv := pgtest.Private(t)
	cert := selfSigned(t, "postgres.test")
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	srv.Configure(map[string]string{
		"postgresql.auto.conf": "password_encryption = 'scram-sha-256'\nssl = on\n",
		"pg_hba.conf":          "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
		"server.crt":           string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})),
		"server.key":           string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})),
	})
	return srv.DSN()
}

// TestSCRAMThroughProxy: against a PostgreSQL that asks for
// SCRAM-SHA-256 over TLS, a client logs in through the proxy with its
// own password and reads a protected column back; a wrong password gets
// the server's SQLSTATE 28P01. The server offers SCRAM-SHA-256-PLUS on
// its TLS connection to the proxy; the proxy, which ends the client's
// TLS, does not pass that offer on (channel binding to the proxy's
// certificate would fail at the server).
func TestSCRAMThroughProxy(t *testing.T) {
	f := startOn(t, scramServer(t), func(p *Proxy) {
		up, err := ParseUpstream("postgres://" + p.Upstream.Addr + "/postgres?sslmode=require")
		if err != nil {
			t.Fatal(err)
		}
		p.Upstream = up
		p.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t, "dbproxy.test")}}
	})
	d := connect(t, f.direct)
	execSQL(t, d, "ALTER ROLE "+f.billing+" PASSWORD 'Scram-s3cret'")
	if got := one(t, d, "SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = $1", f.billing); got[0] != "SCRAM-SHA-256$" {
		t.Fatalf("the password is stored as %q, not a SCRAM verifier", got[0])
	}
	dsn := func(password, query string) string {
		u, _ := url.Parse(f.proxy)
		u.User = url.UserPassword(f.billing, password)
		u.RawQuery = query
		return u.String()
	}

	c := connect(t, dsn("Scram-s3cret", "sslmode=disable"))
	execSQL(t, c, "INSERT INTO customers (id, phone) VALUES ($1, $2)", 1, "13812345678")
	if got := one(t, c, "SELECT phone FROM customers WHERE phone = $1", "13812345678"); len(got) != 1 || got[0] != "13812345678" {
		t.Errorf("through the proxy: %q", got)
	}
	if got := one(t, d, "SELECT phone FROM customers"); got[0] == "13812345678" {
		t.Errorf("stored in the clear: %q", got)
	}

	_, err := pgxConnect(dsn("wrong", "sslmode=disable"))
	if sqlState(err) != "28P01" || strings.Contains(err.Error(), "Scram-s3cret") {
		t.Errorf("wrong password: %v", err)
	}

	// With TLS to the proxy as well as to the server, a client that can
	// bind the channel says so ("y" in its first SCRAM message, since the
	// proxy offered no SCRAM-SHA-256-PLUS), and the server, which did
	// offer it, would refuse that as a downgrade; the flag is inside the
	// signed exchange, so the proxy cannot change it. The proxy refuses
	// such a client itself and says what to do.
	_, err = pgxConnect(dsn("Scram-s3cret", "sslmode=require"))
	if sqlState(err) != "28000" || !strings.Contains(err.Error(), "channel_binding=disable") {
		t.Errorf("TLS, channel binding preferred: %v", err)
	}
	if _, err := pgxConnect(dsn("Scram-s3cret", "sslmode=require&channel_binding=require")); err == nil || !strings.Contains(err.Error(), "SCRAM-SHA-256-PLUS") {
		t.Errorf("TLS, channel binding required: %v, want a refusal for want of SCRAM-SHA-256-PLUS", err)
	}
	tc := connect(t, dsn("Scram-s3cret", "sslmode=require&channel_binding=disable"))
	if _, ok := tc.PgConn().Conn().(*tls.Conn); !ok {
		t.Fatalf("the connection is %T, not TLS", tc.PgConn().Conn())
	}
	if got := one(t, tc, "SELECT phone FROM customers"); got[0] != "13812345678" {
		t.Errorf("over TLS: %q", got)
	}

	if _, err := exec.LookPath("psql"); err == nil {
		out, err := exec.Command("psql", "-X", "-At", "-d", dsn("Scram-s3cret", "sslmode=require&channel_binding=disable"), "-c", "SELECT phone FROM customers").CombinedOutput()
		if err != nil || string(out) != "13812345678\n" {
			t.Errorf("psql over TLS: %v %q", err, out)
		}
	}
}
