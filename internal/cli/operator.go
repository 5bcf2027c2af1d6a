package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
)

func (e *env) operatorCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "operator", Short: "Initialise, unseal, seal and rotate the server's keys"}
	var shares, threshold int
	var rootTTL string
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Initialise a new cluster; prints the key shares and the root token once",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			res, err := c.Sys().Init(ctx, sdk.InitRequest{Shares: shares, Threshold: threshold, RootTokenTTL: rootTTL})
			if err != nil {
				return err
			}
			return e.print(res, func(w io.Writer) {
				for i, s := range res.Shares {
					fmt.Fprintf(w, "Key share %d\t%s\n", i+1, s)
				}
				fmt.Fprintf(w, "Root token\t%s\n\n", res.RootToken)
				fmt.Fprintf(w, "Give each share to a different custodian. %d of them unseal mima after every restart.\n", threshold)
			})
		}),
	}
	initCmd.Flags().IntVar(&shares, "shares", 5, "number of key shares to create")
	initCmd.Flags().IntVar(&threshold, "threshold", 3, "number of shares needed to unseal")
	initCmd.Flags().StringVar(&rootTTL, "root-token-ttl", "", "lifetime of the root token, such as 720h (default: no expiry)")

	var reset bool
	unsealCmd := &cobra.Command{
		Use:   "unseal [SHARE]",
		Short: "Enter one key share (read from standard input when not given)",
		Args:  cobra.MaximumNArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			if reset {
				st, err := c.Sys().ResetUnseal(ctx)
				if err != nil {
					return err
				}
				return e.printSeal(st)
			}
			share, err := e.readSecret(args, "key share")
			if err != nil {
				return err
			}
			st, err := c.Sys().Unseal(ctx, share)
			if err != nil {
				return err
			}
			return e.printSeal(st)
		}),
	}
	unsealCmd.Flags().BoolVar(&reset, "reset", false, "forget the shares entered so far")

	sealCmd := &cobra.Command{
		Use:   "seal",
		Short: "Wipe the server's keys from memory (root token)",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			if err := c.Sys().Seal(ctx); err != nil {
				return err
			}
			return e.printSeal(sdk.SealStatus{Sealed: true})
		}),
	}
	rotateCmd := &cobra.Command{
		Use:   "rotate",
		Short: "Add a barrier keyring term used by all later writes (root token)",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			k, err := c.Sys().RotateKeyring(ctx)
			if err != nil {
				return err
			}
			return e.printKeyStatus(k)
		}),
	}
	keyStatusCmd := &cobra.Command{
		Use:   "key-status",
		Short: "Show the active barrier keyring term (root token)",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			k, err := c.Sys().KeyringStatus(ctx)
			if err != nil {
				return err
			}
			return e.printKeyStatus(k)
		}),
	}
	revokeRootCmd := &cobra.Command{
		Use:   "revoke-root",
		Short: "Revoke the calling root token and the tokens it made, once another root token exists",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			if err := c.Sys().RevokeRootToken(ctx); err != nil {
				return err
			}
			return e.print(map[string]bool{"revoked": true}, func(w io.Writer) { fmt.Fprintln(w, "Root token revoked") })
		}),
	}
	cmd.AddCommand(initCmd, unsealCmd, sealCmd, rotateCmd, keyStatusCmd, e.generateRootCommand(), revokeRootCmd)
	return cmd
}

func (e *env) printSeal(st sdk.SealStatus) error {
	return e.print(st, func(w io.Writer) {
		fmt.Fprintf(w, "Sealed\t%v\n", st.Sealed)
		if st.Sealed && st.Threshold > 0 {
			fmt.Fprintf(w, "Unseal progress\t%d/%d\n", st.Progress, st.Threshold)
		}
	})
}

func (e *env) printKeyStatus(k sdk.KeyStatus) error {
	return e.print(k, func(w io.Writer) {
		fmt.Fprintf(w, "Term\t%d\n", k.Term)
		fmt.Fprintf(w, "Terms\t%d\n", k.Terms)
		fmt.Fprintf(w, "Installed\t%s\n", k.InstallTime.Format("2006-01-02 15:04:05 MST"))
	})
}
