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
			t, err := c.CreateTenant(ctx, args[0])
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
			ts, err := c.ListTenants(ctx)
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
			if err := c.DeleteTenant(ctx, args[0]); err != nil {
				return err
			}
			return e.print(map[string]any{"name": args[0], "deleted": true}, func(w io.Writer) {
				fmt.Fprintf(w, "Deleted\t%s\n", args[0])
			})
		}),
	})
	return cmd
}

const timeLayout = "2006-01-02 15:04:05 MST"
