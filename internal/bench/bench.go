// Package bench is the load generator behind `mima bench`. It drives one
// operation against a running server (mima, or OpenBao's transit engine
// for comparison) from N concurrent workers for a fixed time and reports
// throughput and latency percentiles.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Config describes one run.
type Config struct {
	Op          string        // one of Ops
	Concurrency int           // workers
	Duration    time.Duration // measuring time, after Warmup
	Warmup      time.Duration // time run but not measured
	Key         string        // key name; created when absent
	BatchSize   int           // items per batch-encrypt request
	CBOR        bool          // batch bodies in application/cbor (mima only)
	PayloadSize int           // plaintext bytes
	// Keys, when more than 1, makes sure that many keys exist (created in
	// parallel before the run) and spreads the workers over them.
	Keys int
	// Nodes, when set, lists the addresses of the servers of one cluster
	// the workers are spread over, round robin; preparation still goes
	// to the target's own address.
	Nodes []string
}

// Result is what one run measured.
type Result struct {
	Target      string  `json:"target"`
	Op          string  `json:"op"`
	Concurrency int     `json:"concurrency"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
	OpsPerSec   float64 `json:"ops_per_sec"`   // requests per second
	ItemsPerSec float64 `json:"items_per_sec"` // items per second (= ops for single requests)
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	P999ms      float64 `json:"p999_ms"`
	MaxMs       float64 `json:"max_ms"`
	FirstError  string  `json:"first_error,omitempty"`
}

// Target is a server that can run the benchmark operations.
type Target interface {
	// Name says what is measured, for reports.
	Name() string
	// Prepare creates what Op needs (a key, a ciphertext, a signature) and
	// returns the request that one operation sends.
	Prepare(ctx context.Context, cfg Config) (Request, error)
}

// Request is one HTTP request, sent again and again.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
	Items  int // operations one request performs
	// Next, when set, makes a fresh body for each request in place of
	// Body (for operations that cannot be repeated, like creating a key).
	// Each worker has its own Request, so Next need not be safe for
	// concurrent use.
	Next func() ([]byte, error)
}

// Ops lists the operations; those from key-create on run against mima
// only, and v2x-issue needs the root token.
var Ops = []string{"encrypt", "decrypt", "sign", "verify", "mac", "datakey", "batch-encrypt", "batch-sign", "key-create", "sign-csr", "ocsp", "cms-sign", "timestamp", "v2x-issue", "sm9-sign", "sm9-verify"}

// Run measures cfg against t.
func Run(ctx context.Context, t Target, cfg Config) (Result, error) {
	if !slices.Contains(Ops, cfg.Op) {
		return Result{}, fmt.Errorf("unknown op %q: use one of %s", cfg.Op, strings.Join(Ops, ", "))
	}
	if cfg.Concurrency < 1 || cfg.Duration <= 0 {
		return Result{}, fmt.Errorf("concurrency and duration must be positive")
	}
	if err := createKeys(ctx, t, cfg); err != nil {
		return Result{}, err
	}
	conns := make([]*conn, cfg.Concurrency)
	items := 0
	for i := range conns {
		wc := cfg
		if cfg.Keys > 1 {
			wc.Key = fmt.Sprintf("%s-%d", cfg.Key, i%cfg.Keys)
		}
		req, err := t.Prepare(ctx, wc)
		if err != nil {
			return Result{}, fmt.Errorf("preparing %s on %s: %w", cfg.Op, t.Name(), err)
		}
		if len(cfg.Nodes) > 0 {
			if req.URL, err = onNode(req.URL, cfg.Nodes[i%len(cfg.Nodes)]); err != nil {
				return Result{}, err
			}
		}
		if conns[i], err = newConn(req); err != nil {
			return Result{}, err
		}
		items = req.Items
	}
	start := time.Now()
	measureFrom := start.Add(cfg.Warmup)
	stop := measureFrom.Add(cfg.Duration)
	workers := make([]worker, cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w, c := &workers[i], conns[i]
		wg.Go(func() { w.run(ctx, c, measureFrom, stop) })
	}
	wg.Wait()
	return summarise(t.Name(), cfg, items, workers), nil
}

// onNode is rawURL sent to the server at addr instead.
func onNode(rawURL, addr string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	node, err := url.Parse(addr)
	if err != nil || node.Host == "" {
		return "", fmt.Errorf("node address %q is not a URL", addr)
	}
	u.Scheme, u.Host = node.Scheme, node.Host
	return u.String(), nil
}

// createKeys makes sure the cfg.Keys keys of a spread run exist, by
// preparing each once from 32 goroutines.
func createKeys(ctx context.Context, t Target, cfg Config) error {
	if cfg.Keys <= 1 {
		return nil
	}
	next := make(chan int)
	errs := make(chan error, 32)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := range next {
				wc := cfg
				wc.Key = fmt.Sprintf("%s-%d", cfg.Key, i)
				if _, err := t.Prepare(ctx, wc); err != nil {
					errs <- fmt.Errorf("creating key %d of %d: %w", i, cfg.Keys, err)
					return
				}
			}
		})
	}
	var err error
feed:
	for i := range cfg.Keys {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil && len(errs) > 0 {
		err = <-errs
	}
	return err
}

// worker sends requests back to back and keeps the latencies of those
// that started inside the measuring window.
type worker struct {
	latencies []time.Duration
	errors    int
	firstErr  string
}

func (w *worker) run(ctx context.Context, c *conn, from, stop time.Time) {
	defer c.close()
	for {
		begin := time.Now()
		if !begin.Before(stop) || ctx.Err() != nil {
			return
		}
		err := c.roundTrip(ctx)
		if begin.Before(from) {
			continue
		}
		if err != nil {
			w.errors++
			if w.firstErr == "" {
				w.firstErr = err.Error()
			}
			continue
		}
		w.latencies = append(w.latencies, time.Since(begin))
	}
}

func summarise(target string, cfg Config, items int, workers []worker) Result {
	var all []time.Duration
	res := Result{Target: target, Op: cfg.Op, Concurrency: cfg.Concurrency, Seconds: cfg.Duration.Seconds()}
	for _, w := range workers {
		all = append(all, w.latencies...)
		res.Errors += w.errors
		if res.FirstError == "" {
			res.FirstError = w.firstErr
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	res.Requests = len(all)
	res.OpsPerSec = float64(len(all)) / cfg.Duration.Seconds()
	res.ItemsPerSec = res.OpsPerSec * float64(items)
	if len(all) > 0 {
		res.P50ms = ms(percentile(all, 0.50))
		res.P99ms = ms(percentile(all, 0.99))
		res.P999ms = ms(percentile(all, 0.999))
		res.MaxMs = ms(all[len(all)-1])
	}
	return res
}

// percentile returns the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// call performs one JSON request during preparation and decodes the answer.
func call(ctx context.Context, method, url string, header http.Header, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	req.Header = header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, url, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, out)
}
