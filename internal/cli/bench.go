package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/internal/bench"
)

// benchReport is the output of `mima bench`: our figures, and with
// --openbao-addr theirs and the ratio, from the same payloads and
// concurrency.
type benchReport struct {
	bench.Result
	OpenBao *bench.Result `json:"openbao,omitempty"`
	Ratio   float64       `json:"ratio,omitempty"` // ours / theirs, items per second
}

func (e *env) benchCommand() *cobra.Command {
	cfg := bench.Config{}
	var asJSON bool
	var baoAddr, baoToken, baoMount string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load-test a running server: ops/s and p50/p99/p999 latency",
		Long: "Drive one operation against the server at MIMA_ADDR from --concurrency workers for\n" +
			"--duration and report throughput and latency. With --openbao-addr the same run is made\n" +
			"against OpenBao's (or Vault's) transit engine and the ratio is reported.\n" +
			"Operations: " + strings.Join(bench.Ops, ", ") + ".",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ours, err := bench.Run(cmd.Context(), bench.Mima(e.addr, e.token), cfg)
			if err != nil {
				return err
			}
			rep := benchReport{Result: ours}
			if baoAddr != "" {
				// OpenBao takes JSON only: --cbor compares mima's compact
				// batches with its JSON ones.
				baoCfg := cfg
				baoCfg.CBOR = false
				theirs, err := bench.Run(cmd.Context(), bench.OpenBao(baoAddr, baoToken, baoMount), baoCfg)
				if err != nil {
					return err
				}
				rep.OpenBao = &theirs
				if theirs.ItemsPerSec > 0 {
					rep.Ratio = ours.ItemsPerSec / theirs.ItemsPerSec
				}
			}
			if asJSON {
				e.format = "json"
			}
			return e.print(rep, func(w io.Writer) {
				fmt.Fprintln(w, "TARGET\tOP\tCONC\tOPS/S\tITEMS/S\tP50 MS\tP99 MS\tP999 MS\tERRORS")
				for _, r := range []*bench.Result{&rep.Result, rep.OpenBao} {
					if r != nil {
						fmt.Fprintf(w, "%s\t%s\t%d\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%d\n", r.Target, r.Op, r.Concurrency, r.OpsPerSec, r.ItemsPerSec, r.P50ms, r.P99ms, r.P999ms, r.Errors)
					}
				}
				if rep.Ratio > 0 {
					fmt.Fprintf(w, "mima/openbao\t%.1fx\n", rep.Ratio)
				}
				if rep.FirstError != "" {
					fmt.Fprintf(w, "first error\t%s\n", rep.FirstError)
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Op, "op", "encrypt", "operation: "+strings.Join(bench.Ops, ", "))
	f.IntVar(&cfg.Concurrency, "concurrency", 16, "concurrent workers")
	durationFlag(f, &cfg.Duration, "duration", 10*time.Second, "measuring time")
	durationFlag(f, &cfg.Warmup, "warmup", time.Second, "time run before measuring")
	f.StringVar(&cfg.Key, "key", "bench", "key name prefix (created when absent)")
	f.IntVar(&cfg.BatchSize, "batch-size", 100, "items per request of batch-encrypt and batch-sign; sm9-sign and sm9-verify send batches when above 1")
	f.IntVar(&cfg.PayloadSize, "payload", 64, "plaintext bytes")
	f.BoolVar(&cfg.CBOR, "cbor", false, "send batch-encrypt and batch-sign bodies as application/cbor (OpenBao keeps JSON)")
	f.IntVar(&cfg.Keys, "keys", 1, "make sure this many keys exist (created before the run) and spread the workers over them")
	f.BoolVar(&asJSON, "json", false, "same as --format json")
	f.StringVar(&baoAddr, "openbao-addr", "", "also run against OpenBao/Vault transit at this address")
	secretFlag(f, &baoToken, "openbao-token", "BAO_TOKEN", "OpenBao token")
	f.StringVar(&baoMount, "openbao-mount", "transit", "OpenBao transit mount path")
	return cmd
}
