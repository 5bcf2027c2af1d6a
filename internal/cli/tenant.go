package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
)

func (e *env) tenantCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Create, list and delete tenants (root token)"}
	cmd.AddCommand(&cobra.Command{
		Use:   "create NAME",
		Short: "Create a tenant; prints its admin token once",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			t, err := c.Auth().CreateTenant(ctx, args[0])
			if err != nil {
				return err
			}
			return e.print(t, func(w io.Writer) {
				fmt.Fprintf(w, "Tenant\t%s\n", t.Name)
				fmt.Fprintf(w, "Admin token\t%s\n", t.Token)
				fmt.Fprintf(w, "Accessor\t%s\n", t.Accessor)
			})
		}),
	}, &cobra.Command{
		Use:   "list",
		Short: "List tenants",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			ts, err := c.Auth().ListTenants(ctx)
			if err != nil {
				return err
			}
			return printList(e, ts, "", "NAME\tCREATED", func(t sdk.Tenant) string {
				return fmt.Sprintf("%s\t%s", t.Name, t.CreatedAt.Format(timeLayout))
			})
		}),
	}, &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a tenant: schedule its keys for deletion and revoke its tokens",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			if err := c.Auth().DeleteTenant(ctx, args[0]); err != nil {
				return err
			}
			return e.print(map[string]any{"name": args[0], "deleted": true}, func(w io.Writer) {
				fmt.Fprintf(w, "Deleted\t%s\n", args[0])
			})
		}),
	}, e.quotaCommand())
	return cmd
}

// quotaCommand shows a tenant's quota or, with flags, changes the values
// they name.
func (e *env) quotaCommand() *cobra.Command {
	var q sdk.Quota
	cmd := &cobra.Command{
		Use:   "quota NAME",
		Short: "Show a tenant's quota, or set it with --ops-per-sec and --max-keys (0: no limit)",
		Args:  cobra.ExactArgs(1),
	}
	cmd.Flags().Int64Var(&q.OpsPerSec, "ops-per-sec", 0, "requests a second the tenant's tokens may make")
	cmd.Flags().Int64Var(&q.MaxKeys, "max-keys", 0, "keys the tenant may hold")
	cmd.RunE = e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
		cur, err := c.Auth().TenantQuota(ctx, args[0])
		if err != nil {
			return err
		}
		if f := cmd.Flags(); f.Changed("ops-per-sec") || f.Changed("max-keys") {
			if f.Changed("ops-per-sec") {
				cur.OpsPerSec = q.OpsPerSec
			}
			if f.Changed("max-keys") {
				cur.MaxKeys = q.MaxKeys
			}
			if cur, err = c.Auth().SetTenantQuota(ctx, args[0], cur); err != nil {
				return err
			}
		}
		return e.print(cur, func(w io.Writer) {
			fmt.Fprintf(w, "Tenant\t%s\n", args[0])
			fmt.Fprintf(w, "Ops per second\t%s\n", limit(cur.OpsPerSec))
			fmt.Fprintf(w, "Max keys\t%s\n", limit(cur.MaxKeys))
		})
	})
	return cmd
}

// limit shows a quota value.
func limit(n int64) string {
	if n == 0 {
		return "no limit"
	}
	return fmt.Sprint(n)
}

const timeLayout = "2006-01-02 15:04:05 MST"
