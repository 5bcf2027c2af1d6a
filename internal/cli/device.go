package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
)

func (e *env) deviceCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "device", Short: "Show and drain the crypto devices of the server's pool (root token)"}
	var undo bool
	drain := &cobra.Command{
		Use:   "drain NAME",
		Short: "Take a device out of the pool on the node that answers (--undo puts it back)",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			d, err := c.Sys().DrainDevice(ctx, args[0], !undo)
			if err != nil {
				return err
			}
			return e.print(d, func(w io.Writer) { printDevice(w, d) })
		}),
	}
	drain.Flags().BoolVar(&undo, "undo", false, "put the device back")
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the devices with their health",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			ds, err := c.Sys().ListDevices(ctx)
			if err != nil {
				return err
			}
			return e.print(ds, func(w io.Writer) {
				fmt.Fprintln(w, "NAME\tTYPE\tHEALTH\tOPS\tERRORS")
				for _, d := range ds {
					fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\n", d.Name, d.Type, health(d), d.Ops, d.Errors)
				}
			})
		}),
	}, &cobra.Command{
		Use:   "status NAME",
		Short: "Show one device: health, last check, counters",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			d, err := c.Sys().GetDevice(ctx, args[0])
			if err != nil {
				return err
			}
			return e.print(d, func(w io.Writer) { printDevice(w, d) })
		}),
	}, drain)
	return cmd
}

// health is a device's state in one word.
func health(d sdk.Device) string {
	switch {
	case !d.Healthy:
		return "failed"
	case d.Drained:
		return "drained"
	}
	return "healthy"
}

func printDevice(w io.Writer, d sdk.Device) {
	fmt.Fprintf(w, "Name\t%s\n", d.Name)
	fmt.Fprintf(w, "Type\t%s\n", d.Type)
	fmt.Fprintf(w, "Health\t%s\n", health(d))
	if d.LastCheck != nil {
		fmt.Fprintf(w, "Last check\t%s\n", d.LastCheck.Format(timeLayout))
	}
	if d.LastError != "" {
		fmt.Fprintf(w, "Last error\t%s\n", d.LastError)
	}
	fmt.Fprintf(w, "Operations\t%d (%d failed, %.3fs in all)\n", d.Ops, d.Errors, d.LatencySeconds)
}
