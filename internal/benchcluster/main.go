// Command benchcluster is the harness behind scripts/bench-cluster: it
// starts N mima nodes on a throwaway database of the PostgreSQL server on
// 127.0.0.1:5432, optionally behind a proxy that delays each direction by
// --db-delay, initialises and unseals them, drives one operation spread
// over every node with internal/bench, and reports throughput and
// latency. Everything it starts it stops, and the database is dropped.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mimacrypto/mima/internal/bench"
	"github.com/mimacrypto/mima/internal/benchproc"
	"github.com/mimacrypto/mima/sdk"
)

// options is the command line.
type options struct {
	binary  string
	admin   string
	nodes   int
	delay   time.Duration
	asJSON  bool
	cfg     bench.Config
	timeout time.Duration
}

// report is one run's outcome: bench's figures and the cluster's shape.
type report struct {
	bench.Result
	Nodes   int    `json:"nodes"`
	DBDelay string `json:"db_delay"`
}

func main() {
	var o options
	f := flag.CommandLine
	f.StringVar(&o.binary, "mima", "mima", "the mima binary to start")
	f.StringVar(&o.admin, "postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "administrative DSN of the PostgreSQL server (trust authentication)")
	f.IntVar(&o.nodes, "nodes", 1, "mima nodes")
	f.DurationVar(&o.delay, "db-delay", 0, "delay added to each direction between the nodes and PostgreSQL (0: direct)")
	f.StringVar(&o.cfg.Op, "op", "encrypt", "operation: "+strings.Join(bench.Ops, ", "))
	f.IntVar(&o.cfg.Concurrency, "concurrency", 64, "concurrent workers, spread over the nodes")
	f.DurationVar(&o.cfg.Duration, "duration", 10*time.Second, "measuring time")
	f.DurationVar(&o.cfg.Warmup, "warmup", time.Second, "time run before measuring")
	f.BoolVar(&o.asJSON, "json", false, "print the result as JSON")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "bound on the whole run beyond warmup and duration, after which everything stops")
	flag.Parse()
	o.cfg.Key, o.cfg.BatchSize, o.cfg.PayloadSize = "bench", 100, 64
	if o.nodes < 1 || o.delay < 0 {
		fmt.Fprintln(os.Stderr, "--nodes must be at least 1 and --db-delay not negative")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Warmup+o.cfg.Duration+o.timeout)
	defer cancel()
	rep, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-cluster:", err)
		os.Exit(1)
	}
	if o.asJSON {
		_ = json.NewEncoder(os.Stdout).Encode(rep)
		return
	}
	fmt.Printf("%s: %d node(s), db delay %s, c=%d: %.0f ops/s (%.0f items/s), p50 %.2f ms, p99 %.2f ms, %d errors %s\n",
		rep.Op, rep.Nodes, rep.DBDelay, rep.Concurrency, rep.OpsPerSec, rep.ItemsPerSec, rep.P50ms, rep.P99ms, rep.Errors, rep.FirstError)
}

// run sets the cluster up, measures and tears it down.
func run(ctx context.Context, o options) (report, error) {
	dsn, drop, err := benchproc.Database(ctx, o.admin)
	if err != nil {
		return report{}, err
	}
	defer drop()
	if o.delay > 0 {
		if dsn, err = throughProxy(ctx, dsn, o.delay); err != nil {
			return report{}, err
		}
	}
	var addrs []string
	for i := range o.nodes {
		n, err := startNode(ctx, o.binary, dsn, i)
		if err != nil {
			return report{}, err
		}
		defer n.Stop()
		addrs = append(addrs, n.Addr())
	}
	root, err := initialise(ctx, addrs)
	if err != nil {
		return report{}, err
	}
	o.cfg.Nodes = addrs
	res, err := bench.Run(ctx, bench.Mima(addrs[0], root), o.cfg)
	return report{Result: res, Nodes: o.nodes, DBDelay: o.delay.String()}, err
}

// throughProxy starts a delaying proxy to dsn's server and returns the
// DSN that goes through it.
func throughProxy(ctx context.Context, dsn string, delay time.Duration) (string, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", err
	}
	upstream := net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))
	p, err := startProxy(ctx, upstream, delay)
	if err != nil {
		return "", err
	}
	return strings.Replace(dsn, "@"+upstream+"/", "@"+p.addr()+"/", 1), nil
}

// startNode runs node i on dsn and waits for the address it listens on.
func startNode(ctx context.Context, binary, dsn string, i int) (*benchproc.Proc, error) {
	return benchproc.Start(ctx, binary, nil, "server", "--addr", "127.0.0.1:0", "--storage", "postgres", "--postgres-dsn", dsn,
		"--node-id", fmt.Sprintf("node%d", i), "--public-rate-limit", "0")
}

// initialise initialises the cluster on its first node, unseals every
// node and returns the root token.
func initialise(ctx context.Context, addrs []string) (string, error) {
	first, err := sdk.New(addrs[0])
	if err != nil {
		return "", err
	}
	res, err := first.Sys().Init(ctx, sdk.InitRequest{Shares: 1, Threshold: 1})
	if err != nil {
		return "", fmt.Errorf("init: %w", err)
	}
	for _, addr := range addrs {
		c, err := sdk.New(addr)
		if err != nil {
			return "", err
		}
		if _, err := c.Sys().Unseal(ctx, res.Shares[0]); err != nil {
			return "", fmt.Errorf("unsealing %s: %w", addr, err)
		}
	}
	return res.RootToken, nil
}
