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
		Long: "Show whether the server is initialised and sealed. With a token, also how the node is\n" +
			"deployed: its seal type and listeners (GET /v1/sys/deployment).",
		Args: cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			h, err := c.Sys().Health(ctx)
			if err != nil {
				return err
			}
			st := status{Health: h}
			if e.token != "" && !h.Sealed && h.Initialized {
				if d, err := c.Sys().Deployment(ctx); err == nil {
					st.Deployment = &d
				}
			}
			err = e.print(st, func(w io.Writer) {
				fmt.Fprintf(w, "Initialized\t%v\n", h.Initialized)
				fmt.Fprintf(w, "Sealed\t%v\n", h.Sealed)
				if h.Initialized {
					fmt.Fprintf(w, "Key shares\t%d (threshold %d)\n", h.Shares, h.Threshold)
					fmt.Fprintf(w, "Unseal progress\t%d/%d\n", h.Progress, h.Threshold)
					fmt.Fprintf(w, "Cluster ID\t%s\n", h.ClusterID)
					fmt.Fprintf(w, "Unattended unseal\t%v\n", h.Unattended)
				}
				fmt.Fprintf(w, "Version\t%s\n", h.Version)
				if d := st.Deployment; d != nil {
					fmt.Fprintf(w, "Seal type\t%s\n", d.SealType)
					for _, l := range d.Listeners {
						fmt.Fprintf(w, "Listener\t%s (%s)\n", l.Addr, l.Protocol)
					}
				}
			})
			if err == nil && (h.Sealed || !h.Initialized) {
				return exitError{code: 2}
			}
			return err
		}),
	}
}

// status is what `mima status --format json` prints: health's fields, and
// the deployment when the token may read it.
type status struct {
	sdk.Health
	Deployment *sdk.Deployment `json:"deployment,omitempty"`
}
