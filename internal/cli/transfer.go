package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/internal/pemkey"
	"github.com/mimacrypto/mima/sdk"
)

// transferCommands are `key import|export|backup|restore`.
func (e *env) transferCommands() []*cobra.Command {
	return []*cobra.Command{e.importCommand(), e.exportCommand(), e.backupCommand(), e.restoreCommand()}
}

func (e *env) importCommand() *cobra.Command {
	var f ioFlags
	var wrapped bool
	cmd := &cobra.Command{
		Use:   "import NAME",
		Short: "Import your own key material as the key's next version (wrapped locally)",
		Long: "Read key material from --in (or standard input) and import it as the next version of\n" +
			"NAME. sm4 and hmac-sm3 material is the raw key bytes; sm2 material is a PEM private key\n" +
			"(PKCS#8 or SEC 1). The CLI fetches a one-time wrapping key and wraps the material itself\n" +
			"(SM2 encryption, or a GB/T 35276 enveloped key), so it never crosses the wire in clear.\n" +
			"With --wrapped the input is already wrapped for the token in MIMA_IMPORT_TOKEN.",
		Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			in, err := f.read(e)
			if err != nil {
				return err
			}
			var req sdk.ImportRequest
			if wrapped {
				req = sdk.ImportRequest{Token: os.Getenv("MIMA_IMPORT_TOKEN"), WrappedMaterial: in}
			} else {
				params, err := c.Keys().ImportParams(ctx, args[0])
				if err != nil {
					return err
				}
				material, err := parseMaterial(params.Type, in)
				if err != nil {
					return err
				}
				w, err := sdk.WrapForImport(params, material)
				if err != nil {
					return err
				}
				req = sdk.ImportRequest{Token: params.Token, WrappedMaterial: w}
			}
			return e.printKeyOrErr(c.Keys().Import(ctx, args[0], req))
		}),
	}
	cmd.Flags().StringVar(&f.in, "in", "", "file with the key material (default: standard input)")
	cmd.Flags().BoolVar(&wrapped, "wrapped", false, "the input is already wrapped (token in MIMA_IMPORT_TOKEN)")
	return cmd
}

// parseMaterial reads raw key bytes, or a PEM SM2 private key for sm2.
func parseMaterial(keyType string, in []byte) (any, error) {
	if keyType != "sm2" {
		return in, nil
	}
	k, err := pemkey.ParseSM2(in)
	if errors.Is(err, pemkey.ErrNoKey) {
		return nil, errors.New("an sm2 key is imported from a PEM private key")
	}
	return k, err
}

func (e *env) exportCommand() *cobra.Command {
	var f ioFlags
	var req sdk.ExportRequest
	var pubFile string
	cmd := &cobra.Command{
		Use:   "export NAME --public-key FILE",
		Short: "Export an exportable key wrapped under your SM2 public key; writes the wrapped bytes",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			pub, err := os.ReadFile(pubFile)
			if err != nil {
				return err
			}
			req.PublicKey = string(pub)
			x, err := c.Keys().Export(ctx, args[0], req)
			if err != nil {
				return err
			}
			return e.emitRaw(&f, x, x.Wrapped)
		}),
	}
	cmd.Flags().StringVar(&f.out, "out", "", "write the wrapped key here (default: standard output)")
	cmd.Flags().StringVar(&pubFile, "public-key", "", "PEM SM2 public key to wrap under")
	cmd.Flags().IntVar(&req.Version, "version", 0, "version to export (default: latest)")
	_ = cmd.MarkFlagRequired("public-key")
	return cmd
}

func (e *env) backupCommand() *cobra.Command {
	var f ioFlags
	var passFile string
	cmd := &cobra.Command{
		Use:   "backup NAME",
		Short: "Write the key with every version as a blob encrypted under a password",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			pass, err := e.password(passFile, true)
			if err != nil {
				return err
			}
			blob, err := c.Keys().Backup(ctx, args[0], pass)
			if err != nil {
				return err
			}
			return f.write(e, blob)
		}),
	}
	cmd.Flags().StringVar(&f.out, "out", "", "write the backup here (default: standard output)")
	cmd.Flags().StringVar(&passFile, "password-file", "", "read the password from this file (default: standard input)")
	return cmd
}

func (e *env) restoreCommand() *cobra.Command {
	var f ioFlags
	var passFile, name string
	cmd := &cobra.Command{
		Use:   "restore --in FILE",
		Short: "Restore a key from a backup (into this or another cluster)",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			if f.in == "" {
				return errors.New("--in is required (standard input carries the password)")
			}
			var blob []byte
			if err := e.withInput(&f, "reading the backup", func(in io.Reader) (err error) {
				blob, err = io.ReadAll(in)
				return err
			}); err != nil {
				return err
			}
			pass, err := e.password(passFile, false)
			if err != nil {
				return err
			}
			return e.printKeyOrErr(c.Keys().Restore(ctx, sdk.RestoreRequest{Backup: blob, Password: pass, Name: name}))
		}),
	}
	cmd.Flags().StringVar(&f.in, "in", "", "the backup file")
	cmd.Flags().StringVar(&passFile, "password-file", "", "read the password from this file (default: standard input)")
	cmd.Flags().StringVar(&name, "name", "", "restore under this name instead")
	return cmd
}

// password reads a password from file, or from standard input (asked
// twice from a terminal when it is a new one).
func (e *env) password(file string, isNew bool) (string, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		return strings.TrimRight(string(b), "\r\n"), err
	case isNew:
		return e.readNewSecret("new password")
	default:
		return e.readSecret(nil, "password")
	}
}
