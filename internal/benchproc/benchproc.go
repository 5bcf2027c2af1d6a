// Package benchproc starts what the benchmark harnesses (bench-cluster,
// bench-dbproxy) measure: a throwaway PostgreSQL database and mima
// processes that print the address they listen on.
package benchproc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Database creates a fresh database on the server admin (a DSN) reaches and
// returns its DSN and a function that drops it.
func Database(ctx context.Context, admin string) (dsn string, drop func(), err error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("PostgreSQL: %w", err)
	}
	suffix, err := RandomHex(6)
	if err != nil {
		conn.Close(ctx)
		return "", nil, err
	}
	name := "mima_bench_" + suffix
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		conn.Close(ctx)
		return "", nil, fmt.Errorf("creating the database: %w", err)
	}
	drop = func() {
		bg, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := conn.Exec(bg, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "dropping %s: %v\n", name, err)
		}
		conn.Close(bg)
	}
	cfg := conn.Config()
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", cfg.User, net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), name), drop, nil
}

// RandomHex is n random bytes in hex.
func RandomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Proc is a running mima process.
type Proc struct {
	cmd    *exec.Cmd
	addr   string
	exited chan struct{}
}

// Start runs binary with args (and env added to the environment) and
// waits for the line naming the address it listens on.
func Start(ctx context.Context, binary string, env []string, args ...string) (*Proc, error) {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{cmd: cmd, exited: make(chan struct{})}
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if _, addr, ok := strings.Cut(lines.Text(), " listening on "); ok {
			p.addr = addr
			break
		}
	}
	go func() {
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(p.exited)
	}()
	if p.addr == "" {
		<-p.exited
		return nil, fmt.Errorf("mima %s did not start: %s", strings.Join(args, " "), stderr.Bytes())
	}
	return p, nil
}

// Addr is the address the process listens on.
func (p *Proc) Addr() string { return p.addr }

// PID is the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Stop asks the process to end and kills it if it has not within a bound.
func (p *Proc) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}
