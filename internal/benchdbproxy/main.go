// Command benchdbproxy is the harness behind scripts/bench-dbproxy: on a
// throwaway database of the PostgreSQL server on 127.0.0.1:5432 it starts
// a dev mima server and `mima dbproxy`, then either runs pgbench's default
// script alternately direct and through the proxy and reports the TPS
// ratio and the latency the proxy adds, or (--soak) runs clients writing
// and searching encrypted columns through the proxy for a long time while
// sampling the proxy's resident memory. Everything it starts it stops,
// and the database is dropped.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mimacrypto/mima/internal/benchproc"
)

// options is the command line.
type options struct {
	binary, dir, admin string
	rounds             int
	clients, jobs      int
	duration, latency  time.Duration
	scale              int
	soak               time.Duration
	bareRelay          bool
}

func main() {
	var o options
	f := flag.CommandLine
	f.StringVar(&o.binary, "mima", "mima", "the mima binary to start")
	f.StringVar(&o.dir, "dir", os.TempDir(), "directory for the rules file, pgbench scripts and logs")
	f.StringVar(&o.admin, "postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "administrative DSN of the PostgreSQL server (trust authentication)")
	f.IntVar(&o.rounds, "rounds", 5, "pairs of pgbench runs, direct and through the proxy")
	f.IntVar(&o.clients, "clients", 8, "pgbench clients (-c)")
	f.IntVar(&o.jobs, "jobs", 2, "pgbench threads (-j)")
	f.DurationVar(&o.duration, "duration", 15*time.Second, "length of each TPS run (-T)")
	f.DurationVar(&o.latency, "latency-duration", 8*time.Second, "length of each one-client latency run (-S)")
	f.IntVar(&o.scale, "scale", 10, "pgbench scale (-i -s)")
	f.DurationVar(&o.soak, "soak", 0, "instead of measuring speed, run --clients clients through the proxy this long and sample its memory")
	f.BoolVar(&o.bareRelay, "bare-relay", false, "measure a relay that copies bytes and parses nothing in the proxy's place (what relaying alone costs)")
	flag.Parse()
	if o.bareRelay && o.soak > 0 {
		fmt.Fprintln(os.Stderr, "bench-dbproxy: --bare-relay measures speed only, not a soak")
		os.Exit(2)
	}
	if o.rounds < 1 || o.clients < 1 || o.jobs < 1 || o.scale < 1 || o.duration < time.Second || o.latency < time.Second || o.soak < 0 {
		fmt.Fprintln(os.Stderr, "bench-dbproxy: --rounds, --clients, --jobs and --scale must be positive, durations at least 1s")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	budget := time.Duration(o.rounds)*2*(o.duration+time.Minute) + 2*o.latency + 10*time.Minute
	if o.soak > 0 {
		budget = o.soak + 10*time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	rep, err := run(ctx, o)
	if rep != nil {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-dbproxy:", err)
		os.Exit(1)
	}
}

// rules protect two columns of a table the default script does not use;
// the soak writes and searches them.
const rules = `columns:
  - {table: customers, column: phone, key: bench, mode: deterministic, plaintext_roles: [postgres]}
  - {table: customers, column: name, key: bench, mode: blind-index, plaintext_roles: [postgres]}
`

// run sets the database, mima and the proxy up, measures and tears down.
func run(ctx context.Context, o options) (any, error) {
	direct, drop, err := benchproc.Database(ctx, o.admin)
	if err != nil {
		return nil, err
	}
	defer drop()
	u, err := url.Parse(direct)
	if err != nil {
		return nil, err
	}
	if o.bareRelay {
		if u.Host, err = startRelay(ctx, u.Host); err != nil {
			return nil, err
		}
		return speed(ctx, o, direct, u.String())
	}
	secret, err := benchproc.RandomHex(16)
	if err != nil {
		return nil, err
	}
	root := "mima.devroot." + secret
	srv, err := benchproc.Start(ctx, o.binary, nil, "server", "--dev", "--dev-root-token", root, "--addr", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	env := []string{"MIMA_ADDR=" + srv.Addr(), "MIMA_TOKEN=" + root}
	if err := command(ctx, env, o.binary, "key", "create", "bench", "--derived"); err != nil {
		return nil, err
	}
	rulesFile := filepath.Join(o.dir, "rules.yaml")
	if err := os.WriteFile(rulesFile, []byte(rules), 0o600); err != nil {
		return nil, err
	}
	proxy, err := benchproc.Start(ctx, o.binary, env, "dbproxy", "--listen", "127.0.0.1:0", "--upstream", direct, "--rules", rulesFile)
	if err != nil {
		return nil, err
	}
	defer proxy.Stop()
	u.Host = proxy.Addr()
	through := u.String()
	if o.soak > 0 {
		return soak(ctx, o, direct, through, proxy.PID())
	}
	return speed(ctx, o, direct, through)
}
