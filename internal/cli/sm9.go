package cli

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/emmansun/gmsm/sm2"
	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/sdk/sm9dev"
)

// sm9Command is "mima sm9": the KGC's routes, and "sm9 device", a
// terminal's side (sdk/sm9dev) for trying them out.
func (e *env) sm9Command() *cobra.Command {
	cmd := &cobra.Command{Use: "sm9", Short: "SM9 identities: extract, sign, verify, encrypt, exchange keys, revoke (docs/sm9.md)"}
	cmd.AddCommand(e.sm9ExtractCommand(), e.sm9SignCommand(), e.sm9VerifyCommand(), e.sm9EncryptCommand(), e.sm9DecryptCommand(),
		e.sm9EncapsulateCommand(), e.sm9DecapsulateCommand(), e.sm9ExchangeCommand(), e.sm9RevokeCommand(),
		e.sm9PublicCommand(), e.sm9RevokedCommand(), e.sm9DeviceCommand())
	return cmd
}

// sm9Flags are the identity flags of the hosted-key commands.
type sm9Flags struct{ hid int }

func (s *sm9Flags) bind(cmd *cobra.Command) {
	cmd.Flags().IntVar(&s.hid, "hid", 0, "function identifier (default: 1 to sign, 3 to encrypt; 2 for key exchange)")
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// unb64 decodes the base64 value of flag.
func unb64(flag, v string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("--%s is not base64: %w", flag, err)
	}
	return b, nil
}

func (e *env) sm9ExtractCommand() *cobra.Command {
	var f sm9Flags
	var hosted bool
	var pubFile, passFile, batchFile, out string
	cmd := &cobra.Command{
		Use:   "extract KGC [ID...] (--hosted | --sm2-public-key PEM | --password-file F) | --batch FILE",
		Short: "Extract identities' keys and deliver them; prints one JSON line per identity (streamed for a batch)",
		Long: "With IDs, every identity's key is delivered as the flags say. With --batch, FILE holds\n" +
			"one JSON request a line ({\"id\",\"deliver\":{...}}, as the API takes), up to 10,000: the\n" +
			"enrolment of a fleet, each to its own terminal's SM2 key. Results are JSON lines, in order.",
		Args: cobra.MinimumNArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			var d sdk.SM9Delivery
			d.Hosted = hosted
			if pubFile != "" {
				b, err := os.ReadFile(pubFile)
				if err != nil {
					return err
				}
				d.SM2PublicKey = string(b)
			}
			if passFile != "" {
				p, err := e.password(passFile, false)
				if err != nil {
					return err
				}
				d.Password = p
			}
			reqs := make([]sdk.SM9ExtractRequest, 0, len(args)-1)
			for _, id := range args[1:] {
				reqs = append(reqs, sdk.SM9ExtractRequest{ID: id, HID: byte(f.hid), Deliver: d})
			}
			if batchFile != "" {
				more, err := readJSONLines[sdk.SM9ExtractRequest](batchFile)
				if err != nil {
					return err
				}
				reqs = append(reqs, more...)
			}
			if len(reqs) == 0 {
				return errors.New("name identities, or --batch FILE")
			}
			return (&ioFlags{out: out}).stream(e, func(w io.Writer) error {
				enc := json.NewEncoder(w)
				return c.SM9().ExtractStream(ctx, args[0], reqs, func(x sdk.SM9Extracted) error { return enc.Encode(x) })
			})
		}),
	}
	f.bind(cmd)
	cmd.Flags().BoolVar(&hosted, "hosted", false, "keep the keys in mima as hosted identity keys")
	cmd.Flags().StringVar(&pubFile, "sm2-public-key", "", "deliver to this terminal SM2 public key (PEM file)")
	cmd.Flags().StringVar(&passFile, "password-file", "", "seal under the one-time password in this file")
	cmd.Flags().StringVar(&batchFile, "batch", "", "JSON lines of extraction requests")
	cmd.Flags().StringVar(&out, "out", "", "write the results to this file (default: standard output)")
	return cmd
}

// readJSONLines reads one T per line of file.
func readJSONLines[T any](file string) ([]T, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out []T
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", file, n, err)
		}
		out = append(out, v)
	}
	return out, sc.Err()
}

func (e *env) sm9SignCommand() *cobra.Command {
	var iof ioFlags
	var f sm9Flags
	cmd := &cobra.Command{
		Use:   "sign KGC ID",
		Short: "SM9-sign data with a hosted identity key; prints the base64 DER signature",
		Args:  cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			in, err := iof.read(e)
			if err != nil {
				return err
			}
			r, err := c.SM9().Sign(ctx, args[0], sdk.SM9SignRequest{ID: args[1], Input: in, HID: byte(f.hid)})
			if err != nil {
				return err
			}
			return e.emit(&iof, r, b64(r.Signature))
		}),
	}
	iof.bind(cmd)
	f.bind(cmd)
	return cmd
}

func (e *env) sm9VerifyCommand() *cobra.Command {
	var iof ioFlags
	var f sm9Flags
	var sig, tenant string
	var version int
	cmd := &cobra.Command{
		Use:   "verify KGC ID --signature B64",
		Short: "Check an SM9 signature (--public TENANT: without a token, as a device); exit 2 when not valid",
		Args:  cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			s, err := unb64("signature", sig)
			if err != nil {
				return err
			}
			in, err := iof.read(e)
			if err != nil {
				return err
			}
			req := sdk.SM9VerifyRequest{ID: args[1], Input: in, Signature: s, HID: byte(f.hid), Version: version}
			var r sdk.SM9VerifyResult
			if tenant != "" {
				r, err = c.SM9().VerifyPublic(ctx, tenant, args[0], req)
			} else {
				r, err = c.SM9().Verify(ctx, args[0], req)
			}
			if err != nil {
				return err
			}
			return e.judge(&iof, r, r.Valid, r.Reason)
		}),
	}
	iof.bind(cmd)
	f.bind(cmd)
	cmd.Flags().StringVar(&sig, "signature", "", "base64 DER SM9 signature")
	cmd.Flags().StringVar(&tenant, "public", "", "use the public route of this tenant (no token)")
	cmd.Flags().IntVar(&version, "version", 0, "master key version (default: the latest)")
	_ = cmd.MarkFlagRequired("signature")
	return cmd
}

func (e *env) sm9EncryptCommand() *cobra.Command {
	var iof ioFlags
	var f sm9Flags
	var mode string
	cmd := &cobra.Command{
		Use:   "encrypt KGC ID",
		Short: "SM9-encrypt data to an identity; prints the base64 DER SM9Cipher",
		Args:  cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			in, err := iof.read(e)
			if err != nil {
				return err
			}
			r, err := c.SM9().Encrypt(ctx, args[0], sdk.SM9EncryptRequest{ID: args[1], Plaintext: in, Mode: mode, HID: byte(f.hid)})
			if err != nil {
				return err
			}
			return e.emit(&iof, r, b64(r.Ciphertext))
		}),
	}
	iof.bind(cmd)
	f.bind(cmd)
	cmd.Flags().StringVar(&mode, "mode", "xor", "xor or sm4-cbc")
	return cmd
}

func (e *env) sm9DecryptCommand() *cobra.Command {
	var iof ioFlags
	var f sm9Flags
	cmd := &cobra.Command{
		Use:   "decrypt KGC ID",
		Short: "SM9-decrypt a base64 DER SM9Cipher with a hosted identity key; writes the plaintext",
		Args:  cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			ct, err := iof.readBase64(e)
			if err != nil {
				return err
			}
			r, err := c.SM9().Decrypt(ctx, args[0], sdk.SM9DecryptRequest{ID: args[1], Ciphertext: ct, HID: byte(f.hid)})
			if err != nil {
				return err
			}
			return e.emitRaw(&iof, r, r.Plaintext)
		}),
	}
	iof.bind(cmd)
	f.bind(cmd)
	return cmd
}

func (e *env) sm9EncapsulateCommand() *cobra.Command {
	var f sm9Flags
	var n int
	cmd := &cobra.Command{
		Use:   "encapsulate KGC ID",
		Short: "A fresh key for an identity and its encapsulation (base64), which only the identity opens",
		Args:  cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			r, err := c.SM9().Encapsulate(ctx, args[0], sdk.SM9EncapsulateRequest{ID: args[1], Length: n, HID: byte(f.hid)})
			if err != nil {
				return err
			}
			return e.print(r, func(w io.Writer) {
				fmt.Fprintf(w, "Key\t%s\nEncapsulation\t%s\n", b64(r.Key), b64(r.Encapsulation))
			})
		}),
	}
	f.bind(cmd)
	cmd.Flags().IntVar(&n, "length", 16, "key bytes, 16 to 64")
	return cmd
}

func (e *env) sm9DecapsulateCommand() *cobra.Command {
	var f sm9Flags
	var n int
	var enc string
	cmd := &cobra.Command{
		Use:   "decapsulate KGC ID --encapsulation B64",
		Short: "Open an encapsulation with a hosted identity key; prints the key (base64)",
		Args:  cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			b, err := unb64("encapsulation", enc)
			if err != nil {
				return err
			}
			r, err := c.SM9().Decapsulate(ctx, args[0], sdk.SM9DecapsulateRequest{ID: args[1], Encapsulation: b, Length: n, HID: byte(f.hid)})
			if err != nil {
				return err
			}
			return e.emit(&ioFlags{}, r, b64(r.Key))
		}),
	}
	f.bind(cmd)
	cmd.Flags().IntVar(&n, "length", 16, "key bytes, 16 to 64")
	cmd.Flags().StringVar(&enc, "encapsulation", "", "the encapsulation, base64")
	_ = cmd.MarkFlagRequired("encapsulation")
	return cmd
}

func (e *env) sm9ExchangeCommand() *cobra.Command {
	var n int
	var peer, ra string
	cmd := &cobra.Command{
		Use:   "exchange KGC ID --peer ID --ra B64",
		Short: "Answer an SM9 key exchange as the hosted identity ID (hid 2): prints R_B and S_B for the peer, and the key",
		Args:  cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			b, err := unb64("ra", ra)
			if err != nil {
				return err
			}
			r, err := c.SM9().Exchange(ctx, args[0], sdk.SM9ExchangeRequest{ID: args[1], Peer: peer, RA: b, Length: n})
			if err != nil {
				return err
			}
			return e.print(r, func(w io.Writer) {
				fmt.Fprintf(w, "RB\t%s\nSB\t%s\nKey\t%s\n", b64(r.RB), b64(r.SB), b64(r.Key))
			})
		}),
	}
	cmd.Flags().IntVar(&n, "length", 16, "key bytes, 16 to 64")
	cmd.Flags().StringVar(&peer, "peer", "", "the initiator's identity")
	cmd.Flags().StringVar(&ra, "ra", "", "the initiator's R_A, base64")
	_ = cmd.MarkFlagRequired("peer")
	_ = cmd.MarkFlagRequired("ra")
	return cmd
}

func (e *env) sm9RevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke KGC ID...",
		Short: "Add identities to the KGC's revocation list",
		Args:  cobra.MinimumNArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			return c.SM9().Revoke(ctx, args[0], args[1:])
		}),
	}
}

func (e *env) sm9PublicCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "public TENANT KGC",
		Short: "Print a KGC's master public key (PEM; no token needed)",
		Args:  cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			p, err := c.SM9().MasterPublicKey(ctx, args[0], args[1])
			if err != nil {
				return err
			}
			_, err = io.WriteString(e.out, p)
			return err
		}),
	}
}

func (e *env) sm9RevokedCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoked TENANT KGC",
		Short: "Print a KGC's signed revocation list (JSON; no token needed)",
		Args:  cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			l, err := c.SM9().RevocationList(ctx, args[0], args[1])
			if err != nil {
				return err
			}
			return e.print(l, nil)
		}),
	}
}

// trimSpace drops surrounding white space (a trailing newline of echo).
func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// sm9DeviceFlags locate a terminal's SM9 key: the file "sm9 device open"
// wrote, and its identity.
type sm9DeviceFlags struct{ key, id string }

func (d *sm9DeviceFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&d.key, "key", "", "the terminal's SM9 key file (from sm9 device open)")
	cmd.Flags().StringVar(&d.id, "id", "", "its identity")
	_ = cmd.MarkFlagRequired("key")
	_ = cmd.MarkFlagRequired("id")
}

func (d *sm9DeviceFlags) load() (*sm9dev.Key, error) {
	der, err := os.ReadFile(d.key)
	if err != nil {
		return nil, err
	}
	return sm9dev.Parse(d.id, der)
}

// sm9DeviceCommand is a terminal's side, without mima holding its key.
func (e *env) sm9DeviceCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "device", Short: "A terminal's side of SM9 (sdk/sm9dev): open a delivered key, sign, decrypt, log in, exchange keys"}
	cmd.AddCommand(e.sm9DeviceOpenCommand(), e.sm9DeviceSignCommand(), e.sm9DeviceDecryptCommand(), e.sm9DeviceLoginCommand(), e.sm9DeviceExchangeCommand())
	return cmd
}

func (e *env) sm9DeviceOpenCommand() *cobra.Command {
	var result, sm2File, passFile, out string
	cmd := &cobra.Command{
		Use:   "open --result FILE (--sm2-key KEY.pem | --password-file F) --out KEY",
		Short: "Open a delivered key (one JSON result of sm9 extract) and write it to --out (mode 0600)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			b, err := os.ReadFile(result)
			if err != nil {
				return err
			}
			var x sdk.SM9Extracted
			if err := json.Unmarshal(b, &x); err != nil {
				return fmt.Errorf("--result: %w", err)
			}
			var k *sm9dev.Key
			switch {
			case sm2File != "" && x.Envelope != nil:
				pemKey, err := os.ReadFile(sm2File)
				if err != nil {
					return err
				}
				m, err := parseMaterial("sm2", pemKey)
				if err != nil {
					return err
				}
				k, err = sm9dev.OpenEnvelope(x.ID, x.Envelope, m.(*sm2.PrivateKey))
				if err != nil {
					return err
				}
			case passFile != "" && x.Sealed != nil:
				p, err := e.password(passFile, false)
				if err != nil {
					return err
				}
				if k, err = sm9dev.OpenSealed(x.ID, x.Sealed, []byte(p)); err != nil {
					return err
				}
			default:
				return errors.New("an envelope opens with --sm2-key, a sealed key with --password-file")
			}
			der, err := k.Marshal()
			if err != nil {
				return err
			}
			fmt.Fprintf(e.errOut, "identity %s\n", k.ID())
			return os.WriteFile(out, der, 0o600)
		},
	}
	cmd.Flags().StringVar(&result, "result", "", "a JSON result of sm9 extract (one line)")
	cmd.Flags().StringVar(&sm2File, "sm2-key", "", "the terminal's SM2 private key, PEM")
	cmd.Flags().StringVar(&passFile, "password-file", "", "the one-time password")
	cmd.Flags().StringVar(&out, "out", "", "the key file to write")
	_ = cmd.MarkFlagRequired("result")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func (e *env) sm9DeviceSignCommand() *cobra.Command {
	var iof ioFlags
	var d sm9DeviceFlags
	cmd := &cobra.Command{
		Use:   "sign --key KEY --id ID",
		Short: "SM9-sign data with the terminal's key; prints the base64 DER signature",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			k, err := d.load()
			if err != nil {
				return err
			}
			in, err := iof.read(e)
			if err != nil {
				return err
			}
			sig, err := k.Sign(in)
			if err != nil {
				return err
			}
			return e.emit(&iof, sdk.SM9SignResult{Signature: sig}, b64(sig))
		},
	}
	iof.bind(cmd)
	d.bind(cmd)
	return cmd
}

func (e *env) sm9DeviceDecryptCommand() *cobra.Command {
	var iof ioFlags
	var d sm9DeviceFlags
	cmd := &cobra.Command{
		Use:   "decrypt --key KEY --id ID",
		Short: "SM9-decrypt a base64 DER SM9Cipher with the terminal's key; writes the plaintext",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			k, err := d.load()
			if err != nil {
				return err
			}
			ct, err := iof.readBase64(e)
			if err != nil {
				return err
			}
			pt, err := k.Decrypt(ct)
			if err != nil {
				return err
			}
			return iof.write(e, pt)
		},
	}
	iof.bind(cmd)
	d.bind(cmd)
	return cmd
}

func (e *env) sm9DeviceLoginCommand() *cobra.Command {
	var d sm9DeviceFlags
	var kgc string
	cmd := &cobra.Command{
		Use:   "login --key KEY --id ID --kgc KGC",
		Short: "Log in with the terminal's SM9 key (an sm9 login rule of the tenant); prints a token",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			if e.tenant == "" {
				return errors.New("--tenant (or MIMA_TENANT) names the tenant to log in to")
			}
			k, err := d.load()
			if err != nil {
				return err
			}
			res, err := k.Login(ctx, c, e.tenant, kgc)
			if err != nil {
				return err
			}
			return e.print(res, func(w io.Writer) {
				fmt.Fprintf(w, "Token\t%s\n", res.Token)
				fmt.Fprintf(w, "Identity\t%s (KGC %s)\n", res.SM9.ID, res.SM9.KGC)
				printTokenInfo(w, res.TokenInfo)
			})
		}),
	}
	d.bind(cmd)
	cmd.Flags().StringVar(&kgc, "kgc", "", "the signature KGC that extracted the key")
	_ = cmd.MarkFlagRequired("kgc")
	return cmd
}

func (e *env) sm9DeviceExchangeCommand() *cobra.Command {
	var d sm9DeviceFlags
	var kgc, peer string
	var n int
	cmd := &cobra.Command{
		Use:   "exchange --key KEY --id ID --kgc KGC --peer ID",
		Short: "Exchange a key with a hosted identity (the terminal's key of hid 2 initiates); prints the key (base64)",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			k, err := d.load()
			if err != nil {
				return err
			}
			x, ra, err := k.StartExchange(peer, n)
			if err != nil {
				return err
			}
			r, err := c.SM9().Exchange(ctx, kgc, sdk.SM9ExchangeRequest{ID: peer, Peer: k.ID(), RA: ra, Length: n})
			if err != nil {
				return err
			}
			key, err := x.Finish(r.RB, r.SB)
			if err != nil {
				return err
			}
			return e.emit(&ioFlags{}, map[string][]byte{"key": key}, b64(key))
		}),
	}
	d.bind(cmd)
	cmd.Flags().StringVar(&kgc, "kgc", "", "the encryption KGC")
	cmd.Flags().StringVar(&peer, "peer", "", "the hosted identity that responds")
	cmd.Flags().IntVar(&n, "length", 16, "key bytes, 16 to 64")
	_ = cmd.MarkFlagRequired("kgc")
	_ = cmd.MarkFlagRequired("peer")
	return cmd
}
