package main

import (
	"strings"
	"testing"
)

func TestMedianAndPercentile(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{0.9}, 0.9}, {[]float64{1.1, 0.7, 0.8}, 0.8}, {[]float64{0.5, 0.25, 2, 1}, 0.75}} {
		if got := median(c.xs); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
	var xs []float64
	for i := 100; i >= 1; i-- { // unsorted on purpose
		xs = append(xs, float64(i))
	}
	for p, want := range map[float64]float64{50: 50, 99: 99, 100: 100, 0: 1} {
		if got := percentile(xs, p); got != want {
			t.Errorf("percentile(1..100, %v) = %v, want %v", p, got, want)
		}
	}
	if got := percentile([]float64{7, 3}, 99); got != 7 {
		t.Errorf("p99 of two values = %v, want the larger", got)
	}
	if xs[0] != 100 {
		t.Error("percentile sorted its argument in place")
	}
}

// pgbenchOK and pgbenchAborted are pgbench 15's output of a clean run and
// of one whose clients aborted on an error.
const (
	pgbenchOK = `pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: ok.sql
number of transactions actually processed: 31696
number of failed transactions: 0 (0.000%)
latency average = 0.062 ms
tps = 32083.504568 (without initial connection time)
`
	pgbenchAborted = `pgbench (15.20 (Debian 15.20-0+deb12u1))
number of transactions actually processed: 0/6
number of failed transactions: 1 (NaN%)
pgbench: error: client 1 script 0 aborted in command 0 query 0: ERROR:  division by zero
pgbench: error: client 0 script 0 aborted in command 0 query 0: ERROR:  division by zero
pgbench: error: Run was aborted; the above results are incomplete.
`
)

func TestParseTPS(t *testing.T) {
	if got, err := parseTPS(pgbenchOK); err != nil || got != 32083.504568 {
		t.Errorf("parseTPS = %v, %v", got, err)
	}
	if _, err := parseTPS(pgbenchAborted); err == nil {
		t.Error("no tps line, no error")
	}
	if _, err := parseTPS("tps = many\n"); err == nil {
		t.Error("a tps that is not a number, no error")
	}
}

func TestParseSummary(t *testing.T) {
	if n, f := parseSummary(pgbenchOK); n != 31696 || f != 0 {
		t.Errorf("clean run: %d transactions, %d failures", n, f)
	}
	// One failed transaction and two aborted clients.
	if n, f := parseSummary(pgbenchAborted); n != 0 || f != 3 {
		t.Errorf("aborted run: %d transactions, %d failures", n, f)
	}
}

func TestParseLog(t *testing.T) {
	got, err := parseLog("0 0 412 0 1765055000 123456\n0 1 97 0 1765055000 123999\n\n")
	if err != nil || len(got) != 2 || got[0] != 412 || got[1] != 97 {
		t.Errorf("parseLog = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0 0\n", "0 0 failed 0 1765055000 1\n"} {
		if _, err := parseLog(bad); err == nil {
			t.Errorf("parseLog(%q): no error", bad)
		}
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tmima\nVmPeak:\t 1300000 kB\nVmRSS:\t   52344 kB\nRssAnon:\t   40000 kB\n"
	if got, err := parseVmRSS(strings.NewReader(status)); err != nil || got != 52344 {
		t.Errorf("parseVmRSS = %v, %v", got, err)
	}
	for _, bad := range []string{"Name:\tmima\n", "VmRSS:\t52344 MB\n", "VmRSS:\tlots kB\n"} {
		if _, err := parseVmRSS(strings.NewReader(bad)); err == nil {
			t.Errorf("parseVmRSS(%q): no error", bad)
		}
	}
}
