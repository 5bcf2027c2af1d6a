package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// soakScript upserts a customer and searches by the deterministic column
// (phone) and the blind-indexed one (name); pgbench binds the variables
// as parameters (-M extended), which the proxy encrypts.
const soakScript = `\set id random(1, 100000)
\set phone 13800000000 + random(1, 100000)
\set nm random(1, 100000)
INSERT INTO customers (id, phone, name) VALUES (:id, :phone, :nm) ON CONFLICT (id) DO UPDATE SET phone = :phone, name = :nm;
SELECT id, phone, name FROM customers WHERE phone = :phone;
SELECT id, phone, name FROM customers WHERE name = :nm;
`

// sampleEvery is how often the soak reads the proxy's resident memory.
const sampleEvery = 10 * time.Second

// sample is the proxy's resident memory at a time into the soak.
type sample struct {
	Seconds int   `json:"s"`
	RSSkB   int64 `json:"rss_kb"`
}

// soakReport is what the soak mode prints.
type soakReport struct {
	Duration     string   `json:"duration"`
	Clients      int      `json:"clients"`
	Transactions int64    `json:"transactions"`
	TPS          float64  `json:"tps"`
	Failures     int64    `json:"failures"`
	RSS          []sample `json:"rss"`
	// PlaintextRows are rows whose protected values are not ciphertext
	// at rest (0 unless the proxy let plaintext through).
	PlaintextRows int64  `json:"plaintext_rows"`
	PgbenchError  string `json:"pgbench_error,omitempty"`
}

// soak runs o.clients pgbench clients through the proxy for o.soak and
// samples the resident memory of the proxy (process pid) meanwhile. It
// fails if any transaction failed.
func soak(ctx context.Context, o options, direct, through string, pid int) (*soakReport, error) {
	conn, err := pgx.Connect(ctx, direct)
	if err != nil {
		return nil, err
	}
	_, err = conn.Exec(ctx, `CREATE TABLE customers (id int PRIMARY KEY, phone text, name text, name_bidx text);
		CREATE INDEX ON customers (phone); CREATE INDEX ON customers (name_bidx)`)
	conn.Close(ctx)
	if err != nil {
		return nil, err
	}
	script := filepath.Join(o.dir, "soak.sql")
	if err := os.WriteFile(script, []byte(soakScript), 0o600); err != nil {
		return nil, err
	}
	rep := &soakReport{Duration: o.soak.String(), Clients: o.clients}
	sampled := make(chan []sample, 1)
	sctx, stop := context.WithCancel(ctx)
	go func() { sampled <- sampleRSS(sctx, pid) }()
	out, runErr := output(ctx, nil, "pgbench", "-n", "-M", "extended", "-c", fmt.Sprint(o.clients), "-j", fmt.Sprint(o.jobs),
		"-T", seconds(o.soak), "-f", script, through)
	stop()
	rep.RSS = <-sampled
	rep.Transactions, rep.Failures = parseSummary(out)
	rep.TPS, _ = parseTPS(out) // 0 if pgbench printed none
	if runErr != nil {
		rep.PgbenchError = runErr.Error()
	}
	plain, err := plaintextRows(ctx, direct)
	rep.PlaintextRows = plain
	switch {
	case runErr != nil:
		return rep, runErr
	case err != nil:
		return rep, err
	case rep.Failures > 0:
		return rep, fmt.Errorf("%d transactions failed", rep.Failures)
	case rep.Transactions == 0:
		return rep, errors.New("no transaction completed")
	case plain > 0:
		return rep, fmt.Errorf("%d rows hold a protected value in the clear", plain)
	}
	return rep, nil
}

// plaintextRows counts the customers whose phone or name is not stored as
// ciphertext, read directly from the database.
func plaintextRows(ctx context.Context, direct string) (int64, error) {
	conn, err := pgx.Connect(ctx, direct)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, `SELECT count(*) FROM customers
		WHERE phone NOT LIKE 'mf1d.%' OR name NOT LIKE 'mf1r.%' OR name_bidx IS NULL`).Scan(&n)
	return n, err
}

// sampleRSS reads the resident memory of process pid now, every
// sampleEvery, and once more when ctx ends, printing each sample to
// stderr as it goes.
func sampleRSS(ctx context.Context, pid int) []sample {
	begin := time.Now()
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	var samples []sample
	for {
		kb, err := readRSS(pid)
		s := sample{Seconds: int(time.Since(begin).Round(time.Second) / time.Second), RSSkB: kb}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%ds: %v\n", s.Seconds, err)
		} else {
			samples = append(samples, s)
			fmt.Fprintf(os.Stderr, "%ds: proxy RSS %d kB\n", s.Seconds, s.RSSkB)
		}
		if ctx.Err() != nil {
			return samples
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// readRSS is the resident memory of process pid, from /proc.
func readRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseVmRSS(f)
}

// parseVmRSS finds "VmRSS: N kB" in a /proc/PID/status.
func parseVmRSS(r io.Reader) (int64, error) {
	lines := bufio.NewScanner(r)
	for lines.Scan() {
		rest, ok := strings.CutPrefix(lines.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q is not \"N kB\"", lines.Text())
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	if err := lines.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmRSS line")
}

// parseSummary reads pgbench's summary for the transactions processed
// and those that failed: "number of failed transactions: N", plus one for
// each client that aborted on an error (pgbench stops such a client).
func parseSummary(out string) (transactions, failures int64) {
	for line := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(line, "number of transactions actually processed: "); ok {
			n, _, _ := strings.Cut(strings.TrimSpace(rest), "/")
			transactions, _ = strconv.ParseInt(n, 10, 64)
		}
		if rest, ok := strings.CutPrefix(line, "number of failed transactions: "); ok {
			n, _, _ := strings.Cut(rest, " ")
			f, _ := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
			failures += f
		}
		if strings.Contains(line, " aborted in command ") {
			failures++
		}
	}
	return transactions, failures
}
