package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// pair is one round: the default script direct and through the proxy.
type pair struct {
	DirectTPS float64 `json:"direct_tps"`
	ProxyTPS  float64 `json:"proxy_tps"`
	Ratio     float64 `json:"ratio"`
}

// latency is one run's per-query latency, microseconds.
type latency struct {
	P50 float64 `json:"p50_us"`
	P99 float64 `json:"p99_us"`
}

// speedReport is what the speed mode prints.
type speedReport struct {
	Scale       int     `json:"scale"`
	Clients     int     `json:"clients"`
	Jobs        int     `json:"jobs"`
	Duration    string  `json:"duration"`
	Rounds      []pair  `json:"rounds"`
	MedianRatio float64 `json:"median_ratio"`
	Latency     struct {
		Duration string  `json:"duration"`
		Direct   latency `json:"direct"`
		Proxy    latency `json:"proxy"`
		AddedP50 float64 `json:"added_p50_us"`
		AddedP99 float64 `json:"added_p99_us"`
	} `json:"latency_select_one_client"`
}

// speed runs pgbench's default script alternately direct and through the
// proxy (each round starting with the other, so that neither always runs
// on a warmer machine), then one client's -S queries each way.
func speed(ctx context.Context, o options, direct, through string) (*speedReport, error) {
	if err := command(ctx, nil, "pgbench", "-i", "-q", "-s", fmt.Sprint(o.scale), direct); err != nil {
		return nil, err
	}
	rep := &speedReport{Scale: o.scale, Clients: o.clients, Jobs: o.jobs, Duration: o.duration.String()}
	tps := func(dsn string) (float64, error) {
		out, err := output(ctx, nil, "pgbench", "-c", fmt.Sprint(o.clients), "-j", fmt.Sprint(o.jobs), "-T", seconds(o.duration), dsn)
		if err != nil {
			return 0, err
		}
		return parseTPS(out)
	}
	var ratios []float64
	for i := range o.rounds {
		var p pair
		var err error
		first, second := &p.DirectTPS, &p.ProxyTPS
		dsns := []string{direct, through}
		if i%2 == 1 {
			first, second = second, first
			dsns[0], dsns[1] = dsns[1], dsns[0]
		}
		if *first, err = tps(dsns[0]); err != nil {
			return rep, err
		}
		if *second, err = tps(dsns[1]); err != nil {
			return rep, err
		}
		p.Ratio = p.ProxyTPS / p.DirectTPS
		fmt.Fprintf(os.Stderr, "round %d: direct %.0f TPS, proxy %.0f TPS (%.0f%%)\n", i+1, p.DirectTPS, p.ProxyTPS, 100*p.Ratio)
		rep.Rounds = append(rep.Rounds, p)
		ratios = append(ratios, p.Ratio)
	}
	rep.MedianRatio = median(ratios)
	l := &rep.Latency
	l.Duration = o.latency.String()
	var err error
	if l.Direct, err = selectLatency(ctx, o, "direct", direct); err != nil {
		return rep, err
	}
	if l.Proxy, err = selectLatency(ctx, o, "proxy", through); err != nil {
		return rep, err
	}
	l.AddedP50, l.AddedP99 = l.Proxy.P50-l.Direct.P50, l.Proxy.P99-l.Direct.P99
	return rep, nil
}

// selectLatency runs pgbench -S with one client, logging every
// transaction (one SELECT each), and returns the latency percentiles.
func selectLatency(ctx context.Context, o options, name, dsn string) (latency, error) {
	prefix := filepath.Join(o.dir, "latency-"+name)
	if err := command(ctx, nil, "pgbench", "-S", "-c", "1", "-T", seconds(o.latency), "--log", "--log-prefix", prefix, dsn); err != nil {
		return latency{}, err
	}
	logs, err := filepath.Glob(prefix + ".*")
	if err != nil || len(logs) == 0 {
		return latency{}, fmt.Errorf("pgbench wrote no log %s.*: %v", prefix, err)
	}
	var us []float64
	for _, name := range logs {
		b, err := os.ReadFile(name)
		if err != nil {
			return latency{}, err
		}
		more, err := parseLog(string(b))
		if err != nil {
			return latency{}, fmt.Errorf("%s: %w", name, err)
		}
		us = append(us, more...)
	}
	return latency{P50: percentile(us, 50), P99: percentile(us, 99)}, nil
}

// seconds is d as pgbench's -T takes it.
func seconds(d time.Duration) string {
	return fmt.Sprint(int(d.Round(time.Second) / time.Second))
}

// tpsLine starts the line of pgbench's summary that the ratio uses.
const tpsLine = "tps = "

// parseTPS finds pgbench's "tps = N (without initial connection time)".
func parseTPS(out string) (float64, error) {
	for line := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(line, tpsLine); ok {
			var tps float64
			if _, err := fmt.Sscan(rest, &tps); err != nil {
				return 0, fmt.Errorf("pgbench's %q: %w", strings.TrimSpace(line), err)
			}
			return tps, nil
		}
	}
	return 0, fmt.Errorf("no %q in pgbench's output:\n%s", tpsLine, out)
}

// parseLog reads the latencies (µs) of a pgbench --log file, whose lines
// are "client transaction latency script epoch µs ...". A failed
// transaction's latency is "failed" and is an error here.
func parseLog(text string) ([]float64, error) {
	var us []float64
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var v float64
		if len(f) < 3 {
			return nil, fmt.Errorf("pgbench log line %q is too short", strings.TrimSpace(line))
		}
		if _, err := fmt.Sscan(f[2], &v); err != nil {
			return nil, fmt.Errorf("pgbench log line %q: %w", strings.TrimSpace(line), err)
		}
		us = append(us, v)
	}
	if len(us) == 0 {
		return nil, fmt.Errorf("pgbench logged no transactions")
	}
	return us, nil
}
