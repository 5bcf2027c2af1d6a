package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
)

// ioFlags are the --in and --out of the commands that read data and write
// a result: standard input and output by default.
type ioFlags struct{ in, out string }

func (f *ioFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.in, "in", "", "read input from this file (default: standard input)")
	cmd.Flags().StringVar(&f.out, "out", "", "write output to this file (default: standard output)")
}

// open returns the input stream.
func (f *ioFlags) open(e *env) (io.ReadCloser, error) {
	if f.in == "" || f.in == "-" {
		return io.NopCloser(e.in), nil
	}
	return os.Open(f.in)
}

// read returns the whole input.
func (f *ioFlags) read(e *env) ([]byte, error) {
	r, err := f.open(e)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// write writes raw output bytes.
func (f *ioFlags) write(e *env, b []byte) error {
	if f.out == "" || f.out == "-" {
		_, err := e.out.Write(b)
		return err
	}
	return os.WriteFile(f.out, b, 0o600)
}

// stream runs fill with the output stream: standard output, or the
// --out file, which is removed when fill fails so that no partial result
// is left behind.
func (f *ioFlags) stream(e *env, fill func(io.Writer) error) error {
	if f.out == "" || f.out == "-" {
		return fill(e.out)
	}
	w, err := os.OpenFile(f.out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := errors.Join(fill(w), w.Close()); err != nil {
		_ = os.Remove(f.out)
		return err
	}
	return nil
}

// readBase64 returns the decoded base64 input; surrounding white space
// (a trailing newline of echo) is dropped.
func (f *ioFlags) readBase64(e *env) ([]byte, error) {
	in, err := f.read(e)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(string(trimSpace(in)))
	if err != nil {
		return nil, fmt.Errorf("the input is not base64: %w", err)
	}
	return b, nil
}

// withInput runs use with the input stream, which shows progress as label
// on a terminal, and closes it afterwards.
func (e *env) withInput(f *ioFlags, label string, use func(io.Reader) error) error {
	in, err := f.open(e)
	if err != nil {
		return err
	}
	defer in.Close()
	return use(e.progress(label, fileSize(in), in))
}

// emit writes a text result (with a newline) to --out, or prints v as
// JSON with --format json.
func (e *env) emit(f *ioFlags, v any, text string) error {
	return e.emitRaw(f, v, []byte(text+"\n"))
}

// emitRaw writes raw result bytes to --out, or prints v as JSON with
// --format json.
func (e *env) emitRaw(f *ioFlags, v any, b []byte) error {
	if f.out == "" && e.format == "json" {
		return e.print(v, nil)
	}
	return f.write(e, b)
}

// derivationFlags are --device, --business and --session.
type derivationFlags struct{ device, business, session string }

func (d *derivationFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&d.device, "device", "", "derived key of this device (keys created --derived)")
	cmd.Flags().StringVar(&d.business, "business", "", "with --device: derived key of this business type")
	cmd.Flags().StringVar(&d.session, "session", "", "with --business: derived key of this session")
}

func (d *derivationFlags) context() *sdk.Derivation {
	if d.device == "" {
		return nil
	}
	return &sdk.Derivation{DeviceID: d.device, Business: d.business, Session: d.session}
}

// cryptoCommands are the top-level data commands.
func (e *env) cryptoCommands() []*cobra.Command {
	return append([]*cobra.Command{e.encryptCommand(), e.decryptCommand(), e.reencryptCommand(), e.signCommand(), e.verifyCommand(),
		e.macCommand(), e.hashCommand(), e.randomCommand(), e.dataKeyCommand(), e.deriveCommand(),
		e.fpeCommand(), e.maskCommand()}, e.zucCommands()...)
}

func (e *env) encryptCommand() *cobra.Command {
	var f ioFlags
	var d derivationFlags
	var aad, format string
	var envelope bool
	cmd := &cobra.Command{
		Use:   "encrypt KEY",
		Short: "Encrypt data; prints a mima:v<N>:<base64> ciphertext (--envelope: any size, under a data key)",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			if envelope {
				return e.withInput(&f, "encrypting", func(in io.Reader) error {
					return f.stream(e, func(w io.Writer) error { return c.Crypto().EncryptEnvelope(ctx, args[0], w, in) })
				})
			}
			pt, err := f.read(e)
			if err != nil {
				return err
			}
			r, err := c.Crypto().Encrypt(ctx, args[0], sdk.EncryptRequest{Plaintext: pt, AAD: optBytes(aad), Context: d.context(), SM2Format: format})
			if errors.Is(err, sdk.ErrBodyTooLarge) {
				return fmt.Errorf("%d bytes is more than the server takes in one request: use --envelope, which encrypts locally under a data key (mima datakey) that only travels wrapped: %w", len(pt), err)
			}
			if err != nil {
				return err
			}
			return e.emit(&f, r, r.Ciphertext)
		}),
	}
	cmd.Flags().BoolVar(&envelope, "envelope", false, "envelope encryption of any size: SM4-GCM here under a fresh data key wrapped under KEY (decrypt --envelope)")
	f.bind(cmd)
	d.bind(cmd)
	cmd.Flags().StringVar(&aad, "aad", "", "additional authenticated data (sm4 keys)")
	cmd.Flags().StringVar(&format, "sm2-format", "", "sm2 keys: asn1 (default) or c1c3c2")
	return cmd
}

func (e *env) decryptCommand() *cobra.Command {
	var f ioFlags
	var d derivationFlags
	var aad string
	var envelope bool
	cmd := &cobra.Command{
		Use:   "decrypt KEY",
		Short: "Decrypt a mima:v<N>: ciphertext (or --envelope); writes the plaintext bytes",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			if envelope {
				return e.withInput(&f, "decrypting", func(in io.Reader) error {
					return f.stream(e, func(w io.Writer) error { return c.Crypto().DecryptEnvelope(ctx, args[0], w, in) })
				})
			}
			ct, err := f.read(e)
			if err != nil {
				return err
			}
			r, err := c.Crypto().Decrypt(ctx, args[0], sdk.DecryptRequest{Ciphertext: string(bytes.TrimSpace(ct)), AAD: optBytes(aad), Context: d.context()})
			if err != nil {
				return err
			}
			return e.emitRaw(&f, r, r.Plaintext)
		}),
	}
	f.bind(cmd)
	d.bind(cmd)
	cmd.Flags().StringVar(&aad, "aad", "", "the additional authenticated data given to encrypt")
	cmd.Flags().BoolVar(&envelope, "envelope", false, "the input is an envelope of encrypt --envelope")
	return cmd
}

func (e *env) reencryptCommand() *cobra.Command {
	var f ioFlags
	var req sdk.ReEncryptRequest
	var aad, toAAD string
	cmd := &cobra.Command{
		Use:   "reencrypt KEY",
		Short: "Re-encrypt a mima:v<N>: ciphertext under the latest version (or --to-key) without seeing the plaintext",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			ct, err := f.read(e)
			if err != nil {
				return err
			}
			req.Ciphertext, req.AAD, req.ToAAD = string(bytes.TrimSpace(ct)), optBytes(aad), optBytes(toAAD)
			r, err := c.Crypto().ReEncrypt(ctx, args[0], req)
			if err != nil {
				return err
			}
			return e.emit(&f, r, r.Ciphertext)
		}),
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&req.ToKey, "to-key", "", "encrypt under this key instead (needs encrypt on it)")
	cmd.Flags().IntVar(&req.ToVersion, "to-version", 0, "version of the destination key (default: latest)")
	cmd.Flags().StringVar(&aad, "aad", "", "the additional authenticated data of the ciphertext")
	cmd.Flags().StringVar(&toAAD, "to-aad", "", "additional authenticated data of the new ciphertext")
	return cmd
}

func (e *env) signCommand() *cobra.Command {
	var f ioFlags
	var req sdk.SignRequest
	cmd := &cobra.Command{
		Use:   "sign KEY",
		Short: "SM2-sign data; prints the base64 DER signature (a file over 1 MiB is hashed here and its digest sent)",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			in, err := e.openInput(&f)
			if err != nil {
				return err
			}
			defer in.Close()
			var r sdk.SignResult
			if in.big() && !req.Prehashed {
				r, err = e.signBig(ctx, c, args[0], req, in)
			} else {
				req.Input = in.head
				r, err = c.Crypto().Sign(ctx, args[0], req)
			}
			if err != nil {
				return err
			}
			return e.emit(&f, r, base64.StdEncoding.EncodeToString(r.Signature))
		}),
	}
	f.bind(cmd)
	cmd.Flags().BoolVar(&req.Prehashed, "prehashed", false, "the input is the 32-byte SM3 e-value, not the message")
	cmd.Flags().StringVar(&req.UID, "uid", "", "signer id for Z_A (default 1234567812345678)")
	return cmd
}

func (e *env) verifyCommand() *cobra.Command {
	var f ioFlags
	var req sdk.VerifyRequest
	var sig string
	cmd := &cobra.Command{
		Use:   "verify KEY --signature B64",
		Short: "Check an SM2 signature; exit 2 when it is not valid (a file over 1 MiB is hashed here)",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			var err error
			if req.Signature, err = base64.StdEncoding.DecodeString(sig); err != nil {
				return fmt.Errorf("--signature is not base64: %w", err)
			}
			in, err := e.openInput(&f)
			if err != nil {
				return err
			}
			defer in.Close()
			var r sdk.VerifyResult
			if in.big() && !req.Prehashed {
				r, err = e.verifyBig(ctx, c, args[0], req, in)
			} else {
				req.Input = in.head
				r, err = c.Crypto().Verify(ctx, args[0], req)
			}
			if err != nil {
				return err
			}
			return e.verdict(&f, r)
		}),
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&sig, "signature", "", "the base64 DER signature")
	cmd.Flags().BoolVar(&req.Prehashed, "prehashed", false, "the input is the 32-byte SM3 e-value")
	cmd.Flags().StringVar(&req.UID, "uid", "", "signer id for Z_A (default 1234567812345678)")
	cmd.Flags().IntVar(&req.Version, "version", 0, "key version that signed (default: every usable version, newest first)")
	_ = cmd.MarkFlagRequired("signature")
	return cmd
}

// verdict prints valid/invalid and exits 2 for invalid.
func (e *env) verdict(f *ioFlags, r sdk.VerifyResult) error {
	return e.judge(f, r, r.Valid, "")
}

// judge prints valid/invalid (with the reason, if any) or v as JSON, and
// exits 2 for invalid.
func (e *env) judge(f *ioFlags, v any, valid bool, reason string) error {
	text := map[bool]string{true: "valid", false: "invalid"}[valid]
	if reason != "" {
		text += " (" + reason + ")"
	}
	if err := e.emit(f, v, text); err != nil {
		return err
	}
	if !valid {
		return exitError{code: 2}
	}
	return nil
}

func (e *env) macCommand() *cobra.Command {
	var f ioFlags
	var d derivationFlags
	var check string
	cmd := &cobra.Command{
		Use:   "mac KEY",
		Short: "HMAC-SM3 (hmac-sm3 keys) or SM4-CMAC (sm4 keys); --check verifies one",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			in, err := f.read(e)
			if err != nil {
				return err
			}
			if check != "" {
				mac, err := base64.StdEncoding.DecodeString(check)
				if err != nil {
					return fmt.Errorf("--check is not base64: %w", err)
				}
				r, err := c.Crypto().VerifyMAC(ctx, args[0], sdk.VerifyMACRequest{Input: in, MAC: mac, Context: d.context()})
				if err != nil {
					return err
				}
				return e.verdict(&f, r)
			}
			r, err := c.Crypto().MAC(ctx, args[0], sdk.MACRequest{Input: in, Context: d.context()})
			if err != nil {
				return err
			}
			return e.emit(&f, r, base64.StdEncoding.EncodeToString(r.MAC))
		}),
	}
	f.bind(cmd)
	d.bind(cmd)
	cmd.Flags().StringVar(&check, "check", "", "verify this base64 MAC instead (exit 2 when not valid)")
	return cmd
}

func (e *env) hashCommand() *cobra.Command {
	var f ioFlags
	cmd := &cobra.Command{
		Use:   "hash",
		Short: "SM3 of the input, streamed to the server; prints hex",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			return e.withInput(&f, "hashing", func(in io.Reader) error {
				sum, err := c.Crypto().HashStream(ctx, in)
				if err != nil {
					return err
				}
				return e.emit(&f, sdk.HashResult{Hash: sum}, hex.EncodeToString(sum))
			})
		}),
	}
	f.bind(cmd)
	return cmd
}

func (e *env) randomCommand() *cobra.Command {
	var f ioFlags
	var raw bool
	cmd := &cobra.Command{
		Use:   "random N",
		Short: "N random bytes from the server's DRBG (base64, or raw with --raw)",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil {
				return fmt.Errorf("the byte count %q is not a number", args[0])
			}
			b, err := c.Crypto().Random(ctx, n)
			if err != nil {
				return err
			}
			if raw {
				return f.write(e, b)
			}
			return e.emit(&f, map[string][]byte{"random": b}, base64.StdEncoding.EncodeToString(b))
		}),
	}
	cmd.Flags().StringVar(&f.out, "out", "", "write to this file (default: standard output)")
	cmd.Flags().BoolVar(&raw, "raw", false, "write the raw bytes instead of base64")
	return cmd
}

func (e *env) dataKeyCommand() *cobra.Command {
	var req sdk.DataKeyRequest
	cmd := &cobra.Command{
		Use:   "datakey KEY",
		Short: "A fresh data key (plaintext and wrapped under KEY) for envelope encryption",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			r, err := c.Crypto().DataKey(ctx, args[0], req)
			if err != nil {
				return err
			}
			return e.print(r, func(w io.Writer) {
				if r.Plaintext != nil {
					fmt.Fprintf(w, "Plaintext\t%s\n", base64.StdEncoding.EncodeToString(r.Plaintext))
				}
				fmt.Fprintf(w, "Ciphertext\t%s\n", r.Ciphertext)
				if r.PublicKey != "" {
					fmt.Fprintf(w, "Public key\n%s", r.PublicKey)
				}
			})
		}),
	}
	cmd.Flags().StringVar(&req.Kind, "kind", "sm4", "sm4 (a 16-byte key) or sm2 (a key pair)")
	cmd.Flags().BoolVar(&req.WrappedOnly, "wrapped-only", false, "return only the wrapped key")
	return cmd
}

func (e *env) deriveCommand() *cobra.Command {
	var d derivationFlags
	var req sdk.DeriveRequest
	cmd := &cobra.Command{
		Use:   "derive KEY --device ID",
		Short: "One device, one key: the derived key of a device (business, session)",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			if d.device == "" {
				return fmt.Errorf("--device is required")
			}
			req.Derivation = *d.context()
			r, err := c.Crypto().Derive(ctx, args[0], req)
			if err != nil {
				return err
			}
			return e.print(r, func(w io.Writer) {
				if r.Plaintext != nil {
					fmt.Fprintf(w, "Plaintext\t%s\n", base64.StdEncoding.EncodeToString(r.Plaintext))
				}
				fmt.Fprintf(w, "Ciphertext\t%s\n", r.Ciphertext)
				fmt.Fprintf(w, "Key version\t%d\n", r.KeyVersion)
			})
		}),
	}
	d.bind(cmd)
	cmd.Flags().IntVar(&req.Version, "version", 0, "parent key version (default: latest)")
	cmd.Flags().BoolVar(&req.WrappedOnly, "wrapped-only", false, "return only the wrapped key")
	return cmd
}

// optBytes is nil for an empty flag.
func optBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}
