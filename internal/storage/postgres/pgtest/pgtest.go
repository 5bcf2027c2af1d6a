// Package pgtest gives tests a PostgreSQL database: a fresh database on a
// running server, dropped when the test ends, or a private server that the
// test starts, stops and restarts itself.
//
// The running server is MIMA_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/postgres, trust authentication, as on
// this project's CI machines). When it cannot be reached the test is
// skipped, unless MIMA_REQUIRE_POSTGRES is set (as .ci/run does), when it
// fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// serverDSN is the running server's administrative DSN.
func serverDSN() string {
	if dsn := os.Getenv("MIMA_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// unavailable skips the test, or fails it when PostgreSQL is required.
func unavailable(t testing.TB, why string, err error) {
	t.Helper()
	if os.Getenv("MIMA_REQUIRE_POSTGRES") != "" {
		t.Fatalf("PostgreSQL is required but %s: %v", why, err)
	}
	t.Skipf("PostgreSQL %s (%v); scripts/test starts it", why, err)
}

// Database creates a fresh database on the running server and returns
// its DSN; the database is dropped when the test ends.
func Database(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, serverDSN())
	if err != nil {
		unavailable(t, "cannot be reached", err)
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	name := "mima_test_" + hex.EncodeToString(suffix)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close(ctx)
		t.Fatalf("creating database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close(context.Background())
	})
	cfg, err := pgx.ParseConfig(serverDSN())
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
}

// Server is a private PostgreSQL server for one test.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
}

// Private initialises and starts a private server in a temporary
// directory; it is stopped when the test ends.
func Private(t testing.TB) *Server {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		unavailable(t, "server programs are not installed", os.ErrNotExist)
	}
	dir, err := os.MkdirTemp("", "mima-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, bin: filepath.Dir(bins[len(bins)-1]), dir: dir, port: freePort(t)}
	t.Cleanup(func() {
		_ = s.run("pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root; the postgres user runs it.
		if out, err := exec.Command("chown", "-R", "postgres:postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v: %s", err, out)
		}
	}
	if err := s.run("initdb", "-D", s.data(), "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v", err)
	}
	s.Start()
	return s
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

// DSN is the server's postgres database.
func (s *Server) DSN() string {
	return "postgres://postgres@127.0.0.1:" + strconv.Itoa(s.port) + "/postgres?sslmode=disable"
}

// Start starts the server and waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", s.port, s.dir)
	if err := s.run("pg_ctl", "-D", s.data(), "-o", opts, "-l", filepath.Join(s.dir, "log"), "-w", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		s.t.Fatalf("starting PostgreSQL: %v\n%s", err, log)
	}
}

// Stop stops the server at once, as a crash would.
func (s *Server) Stop() {
	s.t.Helper()
	if err := s.run("pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "stop"); err != nil {
		s.t.Fatalf("stopping PostgreSQL: %v", err)
	}
}

// Configure writes files into the server's data directory, readable by
// the server's user only, and restarts the server. Settings go in
// postgresql.auto.conf (read last, so they win), authentication in
// pg_hba.conf; certificate and key files may sit beside them.
func (s *Server) Configure(files map[string]string) {
	s.t.Helper()
	for name, text := range files {
		path := filepath.Join(s.data(), name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			s.t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			if out, err := exec.Command("chown", "postgres:postgres", path).CombinedOutput(); err != nil {
				s.t.Fatalf("chown: %v: %s", err, out)
			}
		}
	}
	s.Stop()
	s.Start()
}

// run runs a server program, as the postgres user when we are root.
func (s *Server) run(prog string, args ...string) error {
	cmd := exec.Command(filepath.Join(s.bin, prog), args...)
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(s.bin, prog)}, args...)...)
	}
	cmd.Dir = s.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Wait retries probe until it succeeds or timeout passes; tests use it to
// wait for a server or a node to be back, which they observe, not guess.
func Wait(timeout time.Duration, probe func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if probe() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return probe()
}
