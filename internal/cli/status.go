package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
)

func (e *env) statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show whether the server is initialised and sealed; exit 0 unsealed, 2 sealed or not initialised, 1 on error",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			h, err := c.Sys().Health(ctx)
			if err != nil {
				return err
			}
			err = e.print(h, func(w io.Writer) {
				fmt.Fprintf(w, "Initialized\t%v\n", h.Initialized)
				fmt.Fprintf(w, "Sealed\t%v\n", h.Sealed)
				if h.Initialized {
					fmt.Fprintf(w, "Key shares\t%d (threshold %d)\n", h.Shares, h.Threshold)
					fmt.Fprintf(w, "Unseal progress\t%d/%d\n", h.Progress, h.Threshold)
					fmt.Fprintf(w, "Cluster ID\t%s\n", h.ClusterID)
					fmt.Fprintf(w, "Unattended unseal\t%v\n", h.Unattended)
				}
				fmt.Fprintf(w, "Version\t%s\n", h.Version)
			})
			if err == nil && (h.Sealed || !h.Initialized) {
				return exitError{code: 2}
			}
			return err
		}),
	}
}
