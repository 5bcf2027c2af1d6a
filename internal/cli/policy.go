package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
)

func (e *env) policyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Write, read, list and delete the tenant's policies"}
	var rules []string
	var file string
	write := &cobra.Command{
		Use:   "write NAME",
		Short: "Create or replace a policy",
		Long: "Create or replace a policy. Each --rule is OPERATIONS:OBJECTS, both comma-separated glob\n" +
			"patterns, e.g. --rule encrypt,decrypt:orders-*; or --file holds {\"rules\":[...]} as JSON.",
		Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			parsed, err := parseRules(rules, file)
			if err != nil {
				return err
			}
			p, err := c.Auth().PutPolicy(ctx, args[0], parsed)
			if err != nil {
				return err
			}
			return e.print(p, func(w io.Writer) { printPolicy(w, p) })
		}),
	}
	write.Flags().StringArrayVar(&rules, "rule", nil, "OPERATIONS:OBJECTS, e.g. encrypt,decrypt:orders-* (repeatable)")
	write.Flags().StringVar(&file, "file", "", "JSON file with {\"rules\":[{\"operations\":[…],\"objects\":[…]}]}")
	cmd.AddCommand(write, &cobra.Command{
		Use:   "read NAME",
		Short: "Show a policy",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			p, err := c.Auth().GetPolicy(ctx, args[0])
			if err != nil {
				return err
			}
			return e.print(p, func(w io.Writer) { printPolicy(w, p) })
		}),
	}, &cobra.Command{
		Use:   "list",
		Short: "List policy names",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			names, err := c.Auth().ListPolicies(ctx)
			if err != nil {
				return err
			}
			return printList(e, names, "", "NAME", func(n string) string { return n })
		}),
	}, &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a policy",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			if err := c.Auth().DeletePolicy(ctx, args[0]); err != nil {
				return err
			}
			return e.print(map[string]any{"name": args[0], "deleted": true}, func(w io.Writer) {
				fmt.Fprintf(w, "Deleted\t%s\n", args[0])
			})
		}),
	})
	return cmd
}

func parseRules(flags []string, file string) ([]sdk.Rule, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		var doc struct {
			Rules []sdk.Rule `json:"rules"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return doc.Rules, nil
	}
	var out []sdk.Rule
	for _, f := range flags {
		ops, objs, ok := strings.Cut(f, ":")
		if !ok || ops == "" || objs == "" {
			return nil, fmt.Errorf("--rule %q must be OPERATIONS:OBJECTS", f)
		}
		out = append(out, sdk.Rule{Operations: strings.Split(ops, ","), Objects: strings.Split(objs, ",")})
	}
	return out, nil
}

func printPolicy(w io.Writer, p sdk.Policy) {
	fmt.Fprintf(w, "Policy\t%s\n", p.Name)
	for _, r := range p.Rules {
		fmt.Fprintf(w, "Allow\t%s on %s\n", strings.Join(r.Operations, ","), strings.Join(r.Objects, ","))
	}
}
