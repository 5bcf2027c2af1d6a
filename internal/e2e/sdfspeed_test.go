package e2e

import (
	"context"
	"crypto/cipher"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm4"

	"github.com/mimacrypto/mima/internal/bench"
	"github.com/mimacrypto/mima/sdk"
)

// speedWorkers is the number of threads (C) and goroutines (Go) of each
// measurement, as issue 20 asks.
const speedWorkers = 8

// cpuOf is the CPU time (user and system) process pid has used so far.
func cpuOf(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after "(comm) ": state is the first, utime the 12th and
	// stime the 13th, in clock ticks (100 a second on Linux).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	user, _ := strconv.Atoi(f[11])
	sys, _ := strconv.Atoi(f[12])
	return time.Duration(user+sys) * 10 * time.Millisecond
}

// ownCPU is the CPU time the test process has used so far.
func ownCPU() time.Duration {
	var r syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// speed is one measurement: calls/s and the CPU time the client and
// the server spent a call.
type speed struct {
	rate               float64
	clientUs, serverUs float64
}

// measure runs f from speedWorkers goroutines for d and accounts the CPU
// of this process and of the server (pid).
func measure(t *testing.T, pid int, d time.Duration, f func() error) speed {
	t.Helper()
	var calls atomic.Int64
	var failed atomic.Value
	s0, c0, start := cpuOf(t, pid), ownCPU(), time.Now()
	stop := start.Add(d)
	var wg sync.WaitGroup
	for range speedWorkers {
		wg.Go(func() {
			for time.Now().Before(stop) {
				if err := f(); err != nil {
					failed.Store(err)
					return
				}
				calls.Add(1)
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	return perCall(float64(calls.Load()), time.Since(start), ownCPU()-c0, cpuOf(t, pid)-s0)
}

// perCall turns totals into a speed.
func perCall(calls float64, elapsed, client, server time.Duration) speed {
	return speed{rate: calls / elapsed.Seconds(), clientUs: float64(client.Microseconds()) / calls, serverUs: float64(server.Microseconds()) / calls}
}

// TestSDFSpeed compares calls/s of SDF_InternalSign_ECC and SDF_Encrypt
// (SM4-CBC, 64 B and 4 KiB) from 8 threads of a C program with the same
// calls through the Go SDK from 8 goroutines, against one dev server, in
// three rounds that alternate the clients. Beside each figure it gives
// the CPU time the client and the server spent a call; a minimal HTTP
// client (internal/bench) gives the server's own ceiling for signatures,
// and SM4-CBC in Go the ceiling of SDF_Encrypt, which runs in the library.
// It measures, never asserts: MIMA_SDF_BENCH is the seconds of each
// measurement (issue 20, docs/performance.md).
func TestSDFSpeed(t *testing.T) {
	secs, err := strconv.Atoi(os.Getenv("MIMA_SDF_BENCH"))
	if err != nil || secs <= 0 {
		t.Skip("set MIMA_SDF_BENCH=<seconds> to measure")
	}
	d := time.Duration(secs) * time.Second
	dir := t.TempDir()
	bin := buildSDF(t, dir)
	setup := sdfServer(t, dir)
	pid, ctx := setup.srv.cmd.Process.Pid, context.Background()
	// The SDK with a transport that keeps a connection for each worker:
	// its default keeps two, and 8 workers would open a new one for most
	// calls.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = speedWorkers
	c, err := sdk.New(setup.srv.addr, sdk.WithToken(setup.token), sdk.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	library := func(op string) speed {
		cmd := exec.Command(bin, "bench", strconv.Itoa(secs), op)
		cmd.Env = setup.env
		s0 := cpuOf(t, pid)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("sdftest bench %s: %v", op, err)
		}
		var rate float64
		if _, err := fmt.Sscanf(string(out), op+" %g", &rate); err != nil {
			t.Fatalf("sdftest bench %s printed %q", op, out)
		}
		ps := cmd.ProcessState
		return perCall(rate*d.Seconds(), d, ps.UserTime()+ps.SystemTime(), cpuOf(t, pid)-s0)
	}
	digest := make([]byte, 32)
	type client struct {
		name string
		run  func(op string, size int) speed
	}
	clients := []client{
		{"libmimasdf (C, 8 threads)", func(op string, _ int) speed { return library(op) }},
		{"Go SDK (8 goroutines)", func(op string, size int) speed {
			if op == "sign" {
				return measure(t, pid, d, func() error {
					_, err := c.Crypto().Sign(ctx, "sdf-sign", sdk.SignRequest{Input: digest, Prehashed: true})
					return err
				})
			}
			data := make([]byte, size)
			return measure(t, pid, d, func() error {
				_, err := c.Crypto().Encrypt(ctx, "sdf-kek", sdk.EncryptRequest{Plaintext: data})
				return err
			})
		}},
		{"ceiling", func(op string, size int) speed {
			if op == "sign" { // minimal HTTP/1.1 client, same server work
				s0, c0 := cpuOf(t, pid), ownCPU()
				res, err := bench.Run(ctx, bench.Mima(setup.srv.addr, setup.token), bench.Config{
					Op: "sign", Concurrency: speedWorkers, Duration: d, Key: "sdf-speed", BatchSize: 1,
				})
				if err != nil {
					t.Fatal(err)
				}
				return perCall(res.OpsPerSec*d.Seconds(), d, ownCPU()-c0, cpuOf(t, pid)-s0)
			}
			// The library's SDF_Encrypt: SM4-CBC with a session key.
			block, err := sm4.NewCipher(make([]byte, 16))
			if err != nil {
				t.Fatal(err)
			}
			in := make([]byte, size)
			return measure(t, pid, d, func() error {
				out := make([]byte, size)
				cipher.NewCBCEncrypter(block, make([]byte, 16)).CryptBlocks(out, in)
				return nil
			})
		}},
	}
	ops := []struct {
		name string
		size int
	}{{"sign", 0}, {"encrypt64", 64}, {"encrypt4k", 4096}}
	ratios := map[string][]float64{}
	for round := 1; round <= 3; round++ {
		for _, op := range ops {
			var got []speed
			for _, cl := range clients {
				s := cl.run(op.name, op.size)
				got = append(got, s)
				t.Logf("round %d %-9s %-26s %9.0f calls/s  client %6.1f µs/call  server %6.1f µs/call", round, op.name, cl.name, s.rate, s.clientUs, s.serverUs)
			}
			ratios[op.name] = append(ratios[op.name], got[0].rate/got[1].rate)
		}
	}
	for _, op := range ops {
		r := ratios[op.name]
		slices.Sort(r)
		t.Logf("%-9s libmimasdf/Go SDK: median %.2f (rounds %.2f)", op.name, r[len(r)/2], r)
	}
}
