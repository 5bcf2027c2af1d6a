package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mimacrypto/mima/sdk"
	"github.com/spf13/cobra"
)

// generateRootCommand is Vault's generate-root: a new root token from a
// quorum of key shares, returned under a one-time pad that only the
// operator who started the attempt holds.
func (e *env) generateRootCommand() *cobra.Command {
	var (
		start, status, cancel bool
		nonce, otp, decode    string
		ttl                   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "generate-root [SHARE]",
		Short: "Create a new root token from a quorum of key shares",
		Long: `Create a new root token from a quorum of key shares, in three steps:

  mima operator generate-root --init [--ttl 720h]
      starts an attempt; prints its nonce and a one-time pad (OTP) made here.
      Keep the OTP; give the nonce to the share custodians.
  mima operator generate-root --nonce NONCE [SHARE]
      each custodian enters a share (from standard input when not given),
      after checking the nonce with the operator. The last share prints the
      encoded token (and decodes it when --otp is given too).
  mima operator generate-root --decode ENCODED --otp OTP
      the operator recovers the root token.

--status shows the attempt; --cancel ends it.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if decode != "" {
				return e.decodeRoot(decode, otp)
			}
			return e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
				switch {
				case start:
					return e.startGenerateRoot(ctx, c, ttl)
				case status:
					st, err := c.Sys().GenerateRootAttempt(ctx)
					if err != nil {
						return err
					}
					return e.printGenerateRoot(st, "")
				case cancel:
					if err := c.Sys().CancelGenerateRoot(ctx); err != nil {
						return err
					}
					return e.print(map[string]bool{"cancelled": true}, func(w io.Writer) { fmt.Fprintln(w, "Cancelled\ttrue") })
				case nonce != "":
					return e.updateGenerateRoot(ctx, c, nonce, otp, args)
				}
				return errors.New("give one of --init, --nonce, --decode, --status or --cancel")
			})(cmd, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&start, "init", false, "start an attempt with a fresh one-time pad")
	durationFlag(f, &ttl, "ttl", 0, "with --init: lifetime of the new root token, such as 720h (default: no expiry)")
	f.StringVar(&nonce, "nonce", "", "enter a share into the attempt with this nonce")
	f.StringVar(&otp, "otp", "", "the one-time pad printed by --init (base64)")
	f.StringVar(&decode, "decode", "", "decode this encoded token with --otp (no server needed)")
	f.BoolVar(&status, "status", false, "show the attempt in progress")
	f.BoolVar(&cancel, "cancel", false, "cancel the attempt in progress")
	cmd.MarkFlagsMutuallyExclusive("init", "nonce", "decode", "status", "cancel")
	return cmd
}

func (e *env) startGenerateRoot(ctx context.Context, c *sdk.Client, ttl time.Duration) error {
	st, err := c.Sys().GenerateRootAttempt(ctx)
	if err != nil {
		return err
	}
	pad, err := sdk.NewOTP(st.OTPLength)
	if err != nil {
		return err
	}
	st, err = c.Sys().StartGenerateRoot(ctx, pad, ttl)
	if err != nil {
		return err
	}
	return e.printGenerateRoot(st, base64.StdEncoding.EncodeToString(pad))
}

func (e *env) updateGenerateRoot(ctx context.Context, c *sdk.Client, nonce, otp string, args []string) error {
	share, err := e.readSecret(args, "key share")
	if err != nil {
		return err
	}
	st, err := c.Sys().UpdateGenerateRoot(ctx, nonce, share)
	if err != nil {
		return err
	}
	if st.Complete && otp != "" {
		return e.decodeRoot(base64.StdEncoding.EncodeToString(st.EncodedToken), otp)
	}
	return e.printGenerateRoot(st, "")
}

// decodeRoot undoes the one-time pad and prints the root token.
func (e *env) decodeRoot(encoded, otp string) error {
	enc, err1 := base64.StdEncoding.DecodeString(encoded)
	pad, err2 := base64.StdEncoding.DecodeString(otp)
	if err := errors.Join(err1, err2); err != nil || otp == "" {
		return errors.New("--decode and --otp must both be the base64 values printed by generate-root")
	}
	tok, err := sdk.DecodeRootToken(enc, pad)
	if err != nil {
		return err
	}
	return e.print(map[string]string{"root_token": tok}, func(w io.Writer) { fmt.Fprintf(w, "Root token\t%s\n", tok) })
}

func (e *env) printGenerateRoot(st sdk.GenerateRootStatus, otp string) error {
	out := struct {
		sdk.GenerateRootStatus
		OTP string `json:"otp,omitempty"`
	}{st, otp}
	return e.print(out, func(w io.Writer) {
		fmt.Fprintf(w, "Started\t%v\n", st.Started || st.Complete)
		if st.Nonce != "" {
			fmt.Fprintf(w, "Nonce\t%s\n", st.Nonce)
		}
		fmt.Fprintf(w, "Progress\t%d/%d\n", st.Progress, st.Required)
		if otp != "" {
			fmt.Fprintf(w, "OTP\t%s\n\nKeep the OTP secret; it decodes the new root token. Give the nonce to the share custodians.\n", otp)
		}
		if st.Complete {
			fmt.Fprintf(w, "Encoded token\t%s\n\nDecode it with: mima operator generate-root --decode ENCODED --otp OTP\n", base64.StdEncoding.EncodeToString(st.EncodedToken))
		}
	})
}
