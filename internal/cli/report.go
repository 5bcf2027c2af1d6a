package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/internal/compliance"
	"github.com/mimacrypto/mima/sdk"
)

func (e *env) reportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Reports drawn from the live system",
		// The report also writes HTML and PDF.
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if e.format != "table" && e.format != "json" && e.format != "html" && e.format != "pdf" {
				return fmt.Errorf("--format must be table, json, html or pdf")
			}
			return nil
		},
	}
	var rulesFile string
	compl := &cobra.Command{
		Use:   "compliance",
		Short: "GB/T 39786-2021 level-3 checks with evidence, as seen by this token (--format table, json, html or pdf; pdf prints with Chromium)",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			rules, err := compliance.Level(3)
			if err != nil {
				return err
			}
			if rulesFile != "" {
				b, err := os.ReadFile(rulesFile)
				if err != nil {
					return err
				}
				own, err := compliance.Parse(b)
				if err != nil {
					return err
				}
				rules = rules.Add(own)
			}
			now := time.Now()
			encrypted := e.tlcp.on || strings.HasPrefix(e.addr, "https://")
			facts, err := compliance.Gather(ctx, c, encrypted, now)
			if err != nil {
				return err
			}
			rep := compliance.Evaluate(rules, e.tenant, now, facts)
			switch e.format {
			case "html":
				return compliance.WriteHTML(e.out, rep)
			case "pdf":
				return compliance.WritePDF(ctx, e.out, rep)
			}
			return e.print(rep, func(w io.Writer) {
				for _, ch := range rep.Checks {
					fmt.Fprintf(w, "%s\t%s\t%s\n", ch.Status, ch.ID, ch.Evidence)
				}
			})
		}),
	}
	compl.Flags().StringVar(&rulesFile, "rules", "", "a YAML file of further checks, in the shape of the built-in level-3 file")
	cmd.AddCommand(compl)
	return cmd
}

func (e *env) usageCommand() *cobra.Command {
	var q sdk.UsageQuery
	var from, to string
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Calls served by this node in the tenant, per operation or key (for billing)",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			for _, t := range []struct {
				v   string
				dst *time.Time
			}{{from, &q.From}, {to, &q.To}} {
				if t.v == "" {
					continue
				}
				parsed, err := time.Parse(time.RFC3339, t.v)
				if err != nil {
					return fmt.Errorf("--from and --to are RFC 3339 times: %w", err)
				}
				*t.dst = parsed
			}
			u, err := c.Sys().Usage(ctx, q)
			if err != nil {
				return err
			}
			return e.print(u, func(w io.Writer) {
				fmt.Fprintln(w, "NAME\tCALLS\tERRORS")
				for _, s := range u.Series {
					fmt.Fprintf(w, "%s\t%d\t%d\n", s.Name, s.Count, s.Errors)
				}
			})
		}),
	}
	cmd.Flags().StringVar(&from, "from", "", "start (RFC 3339); default an hour ago")
	cmd.Flags().StringVar(&to, "to", "", "end (RFC 3339); default now")
	cmd.Flags().StringVar(&q.By, "by", "operation", "group by operation, key, or (root token) tenant")
	return cmd
}
