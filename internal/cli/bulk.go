package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/mimacrypto/mima/internal/bulk"
	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/sdk/fieldcrypt"
)

// bulkCommand is "mima bulk": field protection of whole files, next to
// the data (docs/data.md).
func (e *env) bulkCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "bulk", Short: "Encrypt, decrypt, re-encrypt or mask the columns of a PostgreSQL table or of CSV and JSON Lines files, resumably"}
	for _, op := range []bulk.Op{bulk.Encrypt, bulk.Decrypt, bulk.ReEncrypt, bulk.MaskOp} {
		cmd.AddCommand(e.bulkRunCommand(op))
	}
	var ckpt, dsn, table string
	status := &cobra.Command{
		Use:   "status [--checkpoint FILE | --postgres-dsn DSN --table T]",
		Short: "Show a bulk job's checkpoint: rows done, and whether it finished",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if table != "" || dsn != "" {
				if table == "" || dsn == "" {
					return errors.New("give --postgres-dsn and --table together")
				}
				cps, err := bulk.ReadTableCheckpoints(cmd.Context(), dsn, table)
				if err != nil {
					return err
				}
				return json.NewEncoder(e.out).Encode(map[string]any{"items": cps, "next": ""})
			}
			cp, err := bulk.ReadCheckpoint(ckpt)
			if err != nil {
				return err
			}
			return json.NewEncoder(e.out).Encode(cp)
		},
	}
	status.Flags().StringVar(&ckpt, "checkpoint", "mima-bulk.checkpoint", "the file job's checkpoint file")
	status.Flags().StringVar(&dsn, "postgres-dsn", "", "the PostgreSQL database of a table job")
	status.Flags().StringVar(&table, "table", "", "the table of a table job: its checkpoints, one per operation")
	cmd.AddCommand(status)
	return cmd
}

func (e *env) bulkRunCommand(op bulk.Op) *cobra.Command {
	var (
		config, toConfig, csvIn, jsonlIn, out, dsn, table string
		job                                               = bulk.Job{Op: op}
	)
	cmd := &cobra.Command{
		Use:   string(op) + " --config fields.yaml (--postgres-dsn DSN --table T | --csv IN --out OUT | --jsonl IN --out OUT)",
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
			job.Codec = fieldcrypt.New(fieldcrypt.ClientKeys(c), fieldcrypt.Limits{}, nil)
			job.Progress = e.bulkProgress()
			switch {
			case table != "" && dsn != "" && csvIn == "" && jsonlIn == "" && out == "":
				return job.RunTable(ctx, dsn, table)
			case table == "" && dsn == "" && csvIn != "" && jsonlIn == "" && out != "":
				return job.RunFile(ctx, bulk.CSV, csvIn, out)
			case table == "" && dsn == "" && csvIn == "" && jsonlIn != "" && out != "":
				return job.RunFile(ctx, bulk.JSONL, jsonlIn, out)
			}
			return errors.New("give --postgres-dsn and --table, or one of --csv and --jsonl with --out")
		}),
	}
	f := cmd.Flags()
	f.StringVar(&config, "config", "fields.yaml", "the fields file")
	if op == bulk.ReEncrypt {
		f.StringVar(&toConfig, "to-config", "", "the fields file to move to (default: --config, with fresh data keys)")
	}
	f.StringVar(&dsn, "postgres-dsn", "", "the PostgreSQL database of --table (postgres://user@host/db)")
	f.StringVar(&table, "table", "", "the table to work on in place, in primary key order (it needs a primary key)")
	f.BoolVar(&job.Restart, "restart", false, "a table job: forget its checkpoint and start over")
	f.StringVar(&csvIn, "csv", "", "the input CSV file (a header row names the columns)")
	f.StringVar(&jsonlIn, "jsonl", "", "the input JSON Lines file")
	f.StringVar(&out, "out", "", "the output file")
	f.StringVar(&job.Checkpoint, "checkpoint", "mima-bulk.checkpoint", "the checkpoint file that makes a file job resumable (a table job keeps it in the database)")
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
			fmt.Fprintf(f, "\r%d rows", p.Rows)
			if p.Total > 0 {
				fmt.Fprintf(f, " of %d (%.0f%%)", p.Total, 100*float64(p.Rows)/float64(p.Total))
			}
			fmt.Fprintf(f, "  %.0f rows/s", p.RowsPer)
			if p.ETA > 0 {
				fmt.Fprintf(f, "  ETA %s", (time.Duration(p.ETA) * time.Second).String())
			}
			fmt.Fprintf(f, "  cache hits %.1f%%  %d service calls\x1b[K", 100*p.HitRate, p.Calls)
			if p.Done {
				fmt.Fprintln(f)
			}
		}
	}
	enc := json.NewEncoder(e.errOut)
	return func(p bulk.Progress) { _ = enc.Encode(p) }
}
