package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/mimacrypto/mima/internal/bulk"
	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/sdk/fieldcrypt"
)

// bulkCommand is "mima bulk": field protection of whole files, next to
// the data (docs/data.md).
func (e *env) bulkCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "bulk", Short: "Encrypt, decrypt, re-encrypt or mask the columns of CSV and JSON Lines files, resumably"}
	for _, op := range []bulk.Op{bulk.Encrypt, bulk.Decrypt, bulk.ReEncrypt, bulk.MaskOp} {
		cmd.AddCommand(e.bulkRunCommand(op))
	}
	var ckpt string
	status := &cobra.Command{
		Use:   "status",
		Short: "Show a bulk job's checkpoint: rows done, and whether it finished",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cp, err := bulk.ReadCheckpoint(ckpt)
			if err != nil {
				return err
			}
			return json.NewEncoder(e.out).Encode(cp)
		},
	}
	status.Flags().StringVar(&ckpt, "checkpoint", "mima-bulk.checkpoint", "the job's checkpoint file")
	cmd.AddCommand(status)
	return cmd
}

func (e *env) bulkRunCommand(op bulk.Op) *cobra.Command {
	var (
		config, toConfig, csvIn, jsonlIn, out string
		job                                   = bulk.Job{Op: op}
	)
	cmd := &cobra.Command{
		Use:   string(op) + " --config fields.yaml (--csv IN | --jsonl IN) --out OUT",
		Short: string(op) + " the columns fields.yaml names, in batches; run again to resume",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			var err error
			if job.From, err = readFields(config); err != nil {
				return err
			}
			if toConfig != "" {
				if job.To, err = readFields(toConfig); err != nil {
					return err
				}
			}
			format, in := bulk.CSV, csvIn
			if jsonlIn != "" {
				format, in = bulk.JSONL, jsonlIn
			}
			if (csvIn == "") == (jsonlIn == "") || out == "" {
				return errors.New("give one of --csv and --jsonl, and --out")
			}
			job.Codec = fieldcrypt.New(fieldcrypt.ClientKeys(c), fieldcrypt.Limits{}, nil)
			job.Progress = e.bulkProgress()
			return job.RunFile(ctx, format, in, out)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&config, "config", "fields.yaml", "the fields file")
	if op == bulk.ReEncrypt {
		f.StringVar(&toConfig, "to-config", "", "the fields file to move to (default: --config, with fresh data keys)")
	}
	f.StringVar(&csvIn, "csv", "", "the input CSV file (a header row names the columns)")
	f.StringVar(&jsonlIn, "jsonl", "", "the input JSON Lines file")
	f.StringVar(&out, "out", "", "the output file")
	f.StringVar(&job.Checkpoint, "checkpoint", "mima-bulk.checkpoint", "the checkpoint file that makes the job resumable")
	f.IntVar(&job.Batch, "batch", 1000, "rows per batch")
	f.IntVar(&job.Workers, "workers", 2, "parallel workers")
	f.Float64Var(&job.Rate, "rate", 0, "at most this many rows per second (0: no limit)")
	return cmd
}

func readFields(path string) (*fieldcrypt.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return fieldcrypt.ParseConfig(b)
}

// bulkProgress prints a progress line on a terminal, JSON lines otherwise,
// on standard error.
func (e *env) bulkProgress() func(bulk.Progress) {
	f, ok := e.errOut.(*os.File)
	if ok && term.IsTerminal(int(f.Fd())) {
		return func(p bulk.Progress) {
			fmt.Fprintf(f, "\r%d rows  %.0f rows/s  cache hits %.1f%%  %d service calls", p.Rows, p.RowsPer, 100*p.HitRate, p.Calls)
			if p.Done {
				fmt.Fprintln(f)
			}
		}
	}
	enc := json.NewEncoder(e.errOut)
	return func(p bulk.Progress) { _ = enc.Encode(p) }
}
