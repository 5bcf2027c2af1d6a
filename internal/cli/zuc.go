package cli

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
)

// zucFlags are the IV and length flags of eea3 and eia3.
type zucFlags struct {
	req sdk.ZUCRequest
	iv  string
	d   derivationFlags
}

func (z *zucFlags) bind(cmd *cobra.Command) {
	cmd.Flags().Int64Var(&z.req.Count, "count", 0, "COUNT, 0 to 4294967295 (zuc-128 keys; 0x for hex)")
	cmd.Flags().IntVar(&z.req.Bearer, "bearer", 0, "BEARER, 0 to 31 (zuc-128 keys)")
	cmd.Flags().IntVar(&z.req.Direction, "direction", 0, "DIRECTION, 0 or 1 (zuc-128 keys)")
	cmd.Flags().StringVar(&z.iv, "iv", "", "the 23-byte ZUC-256 IV in hex (zuc-256 keys)")
	cmd.Flags().IntVar(&z.req.Bits, "bits", 0, "message length in bits (default: the whole input)")
	cmd.Flags().IntVar(&z.req.Version, "version", 0, "key version (default: the latest)")
	z.d.bind(cmd)
}

// request reads the input of f and returns the request for it.
func (z *zucFlags) request(e *env, f *ioFlags) (sdk.ZUCRequest, error) {
	in, err := f.read(e)
	if err != nil {
		return z.req, err
	}
	req := z.req
	req.Input, req.Context = in, z.d.context()
	if z.iv != "" {
		iv, err := hex.DecodeString(z.iv)
		if err != nil {
			return req, fmt.Errorf("--iv is not hex: %w", err)
		}
		req.IV = iv
	}
	return req, nil
}

// zucCommands are eea3 and eia3, the ZUC operations of 3GPP's
// 128-EEA3/128-EIA3 and of ZUC-256.
func (e *env) zucCommands() []*cobra.Command {
	return []*cobra.Command{e.eea3Command(), e.eia3Command()}
}

func (e *env) eea3Command() *cobra.Command {
	var f ioFlags
	var z zucFlags
	cmd := &cobra.Command{
		Use:   "eea3 KEY",
		Short: "ZUC encryption or decryption (128-EEA3 with zuc-128 keys, ZUC-256 with zuc-256 keys); writes the output bytes",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			req, err := z.request(e, &f)
			if err != nil {
				return err
			}
			r, err := c.Crypto().EEA3(ctx, args[0], req)
			if err != nil {
				return err
			}
			return e.emitRaw(&f, r, r.Output)
		}),
	}
	f.bind(cmd)
	z.bind(cmd)
	return cmd
}

func (e *env) eia3Command() *cobra.Command {
	var f ioFlags
	var z zucFlags
	var check string
	cmd := &cobra.Command{
		Use:   "eia3 KEY",
		Short: "ZUC MAC (128-EIA3 with zuc-128 keys, ZUC-256 with zuc-256 keys) in base64; --check verifies one",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			req, err := z.request(e, &f)
			if err != nil {
				return err
			}
			var want []byte
			if check != "" {
				if want, err = base64.StdEncoding.DecodeString(check); err != nil {
					return fmt.Errorf("--check is not base64: %w", err)
				}
				req.MACSize = len(want)
			}
			r, err := c.Crypto().EIA3(ctx, args[0], req)
			if err != nil {
				return err
			}
			if check != "" {
				return e.verdict(&f, sdk.VerifyResult{Valid: subtle.ConstantTimeCompare(r.MAC, want) == 1, KeyVersion: r.KeyVersion})
			}
			return e.emit(&f, r, base64.StdEncoding.EncodeToString(r.MAC))
		}),
	}
	f.bind(cmd)
	z.bind(cmd)
	cmd.Flags().IntVar(&z.req.MACSize, "mac-size", 0, "MAC bytes: 4 (default), or 8 or 16 with zuc-256 keys")
	cmd.Flags().StringVar(&check, "check", "", "verify this base64 MAC instead (exit 2 when not valid)")
	return cmd
}
