package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
)

func (e *env) fpeCommand() *cobra.Command {
	var (
		req     sdk.FPERequest
		decrypt bool
	)
	cmd := &cobra.Command{
		Use:   "fpe KEY INPUT",
		Short: "Format-preserving encryption (FF1 with SM4) of a digit string, or of a string over --alphabet",
		Args:  cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			req.Input = args[1]
			run := c.Data().FPEEncrypt
			if decrypt {
				run = c.Data().FPEDecrypt
			}
			r, err := run(ctx, args[0], req)
			if err != nil {
				return err
			}
			return e.print(r, func(w io.Writer) { fmt.Fprintln(w, r.Output) })
		}),
	}
	cmd.Flags().StringVar(&req.Alphabet, "alphabet", "", "the input's characters (default 0123456789)")
	cmd.Flags().StringVar(&req.Tweak, "tweak", "", "the FF1 tweak")
	cmd.Flags().IntVar(&req.Version, "version", 0, "key version (default: the latest); decrypt with the version that encrypted")
	cmd.Flags().BoolVar(&decrypt, "decrypt", false, "reverse the encryption")
	return cmd
}

func (e *env) maskCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "mask KIND INPUT",
		Short: "Mask a value by its kind's rule: phone, id-card, bank-card, name, address",
		Args:  cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			r, err := c.Data().Mask(ctx, sdk.MaskRequest{Kind: args[0], Input: args[1]})
			if err != nil {
				return err
			}
			return e.print(r, func(w io.Writer) { fmt.Fprintln(w, r.Output) })
		}),
	}
}
