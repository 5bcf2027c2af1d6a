package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// fakeServer answers like mima or OpenBao would and records what the
// benchmark asked for.
type fakeServer struct {
	mu    sync.Mutex
	paths map[string]int
	last  map[string]string // path → last body
	ctype map[string]string // path → last Content-Type
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.paths[r.URL.Path]++
	f.last[r.URL.Path] = string(b)
	if f.ctype != nil {
		f.ctype[r.URL.Path] = r.Header.Get("Content-Type")
	}
	f.mu.Unlock()
	answer := map[string]string{"ciphertext": "mima:v1:Y3Q=", "signature": "c2ln"}
	if strings.Contains(r.URL.Path, "/transit/") {
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]string{"ciphertext": "vault:v1:Y3Q=", "signature": "vault:v1:c2ln"}})
		return
	}
	_ = json.NewEncoder(w).Encode(answer)
}

func TestRunEveryOpOnBothTargets(t *testing.T) {
	f := &fakeServer{paths: map[string]int{}, last: map[string]string{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	for _, target := range []Target{Mima(srv.URL, "t"), OpenBao(srv.URL, "t", "transit")} {
		for _, op := range Ops[:8] { // sign-csr and ocsp need a real CA: internal/e2e runs them
			cfg := Config{Op: op, Concurrency: 2, Duration: 20 * time.Millisecond, Key: "bench", BatchSize: 10, PayloadSize: 64}
			res, err := Run(context.Background(), target, cfg)
			if err != nil {
				t.Fatalf("%s %s: %v", target.Name(), op, err)
			}
			if res.Requests == 0 || res.Errors != 0 || res.P50ms > res.P99ms || res.P99ms > res.MaxMs {
				t.Errorf("%s %s: %+v", target.Name(), op, res)
			}
			if strings.HasPrefix(op, "batch-") && res.ItemsPerSec != res.OpsPerSec*10 {
				t.Errorf("%s batch: items/s %v for ops/s %v", target.Name(), res.ItemsPerSec, res.OpsPerSec)
			}
		}
	}
	// The decrypt and verify requests carry what preparation produced.
	if !strings.Contains(f.last["/v1/keys/bench-sm4/decrypt"], "mima:v1:Y3Q=") {
		t.Errorf("mima decrypt body: %s", f.last["/v1/keys/bench-sm4/decrypt"])
	}
	if !strings.Contains(f.last["/v1/transit/verify/bench-ecdsa-p256"], "vault:v1:c2ln") {
		t.Errorf("openbao verify body: %s", f.last["/v1/transit/verify/bench-ecdsa-p256"])
	}
	if !strings.Contains(f.last["/v1/transit/encrypt/bench-aes256-gcm96"], "batch_input") {
		t.Errorf("openbao batch body: %s", f.last["/v1/transit/encrypt/bench-aes256-gcm96"])
	}
}

// TestRunCBORBatches: with CBOR, mima's batch requests are application/cbor
// bodies of BatchSize items holding the payload as bytes; CBOR is refused
// for OpenBao and for single operations.
func TestRunCBORBatches(t *testing.T) {
	f := &fakeServer{paths: map[string]int{}, last: map[string]string{}, ctype: map[string]string{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	cfg := Config{Op: "batch-encrypt", Concurrency: 1, Duration: 20 * time.Millisecond, Key: "bench", BatchSize: 10, PayloadSize: 64, CBOR: true}
	res, err := Run(context.Background(), Mima(srv.URL, "t"), cfg)
	if err != nil || res.Requests == 0 || res.Errors != 0 {
		t.Fatalf("CBOR batch-encrypt: %v %+v", err, res)
	}
	path := "/v1/keys/bench-sm4/encrypt"
	var body struct {
		Batch []struct {
			Plaintext []byte `cbor:"plaintext"`
		} `cbor:"batch"`
	}
	if err := cbor.Unmarshal([]byte(f.last[path]), &body); err != nil || f.ctype[path] != "application/cbor" {
		t.Fatalf("body (%s) is not CBOR: %v", f.ctype[path], err)
	}
	if len(body.Batch) != 10 || len(body.Batch[0].Plaintext) != 64 {
		t.Fatalf("CBOR batch: %d items, first of %d bytes", len(body.Batch), len(body.Batch[0].Plaintext))
	}
	if _, err := Run(context.Background(), OpenBao(srv.URL, "t", "transit"), cfg); err == nil {
		t.Error("CBOR accepted for OpenBao")
	}
	cfg.Op = "encrypt"
	if _, err := Run(context.Background(), Mima(srv.URL, "t"), cfg); err == nil {
		t.Error("CBOR accepted for a single encrypt")
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{{Op: "dance", Concurrency: 1, Duration: time.Second}, {Op: "encrypt", Duration: time.Second}, {Op: "encrypt", Concurrency: 1}} {
		if _, err := Run(context.Background(), Mima("http://127.0.0.1:1", ""), cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 1000; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{0.5: 500 * time.Millisecond, 0.99: 990 * time.Millisecond, 0.999: 999 * time.Millisecond} {
		if got := percentile(d, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
}

func TestSpreadOverKeysCreatesThemAll(t *testing.T) {
	f := &fakeServer{paths: map[string]int{}, last: map[string]string{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	cfg := Config{Op: "encrypt", Concurrency: 4, Duration: 20 * time.Millisecond, Key: "spread", PayloadSize: 8, Keys: 50}
	if _, err := Run(context.Background(), Mima(srv.URL, "t"), cfg); err != nil {
		t.Fatal(err)
	}
	if got := f.paths["/v1/keys"]; got < 50 {
		t.Fatalf("%d key creations for 50 keys", got)
	}
	for i := range 4 {
		if f.paths[fmt.Sprintf("/v1/keys/spread-%d-sm4/encrypt", i)] == 0 {
			t.Errorf("worker %d did not use its own key", i)
		}
	}
}

// TestKeyCreateSpreadOverNodes: every key-create request names a new
// key, and the workers are spread over the nodes given.
func TestKeyCreateSpreadOverNodes(t *testing.T) {
	var mu sync.Mutex
	names := map[string]int{}
	nodes := make([]*httptest.Server, 2)
	hits := make([]int, 2)
	for i := range nodes {
		nodes[i] = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var body struct{ Name string }
			_ = json.NewDecoder(r.Body).Decode(&body)
			mu.Lock()
			names[body.Name]++
			hits[i]++
			mu.Unlock()
			_, _ = io.WriteString(w, "{}")
		}))
		defer nodes[i].Close()
	}
	cfg := Config{Op: "key-create", Concurrency: 4, Duration: 20 * time.Millisecond, Key: "kc", Nodes: []string{nodes[0].URL, nodes[1].URL}}
	res, err := Run(context.Background(), Mima(nodes[0].URL, "t"), cfg)
	if err != nil || res.Errors != 0 || res.Requests == 0 {
		t.Fatalf("%+v, %v", res, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for name, n := range names {
		if n != 1 || !strings.HasPrefix(name, "kc-") {
			t.Errorf("key %q created %d times", name, n)
		}
	}
	if hits[0] == 0 || hits[1] == 0 {
		t.Errorf("requests per node: %v", hits)
	}
}
