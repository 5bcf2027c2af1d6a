package cli

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/internal/dcas"
	"github.com/mimacrypto/mima/internal/sm4gcm"
	"github.com/mimacrypto/mima/sdk"
)

// dcasCommand groups the commands of the DCAS security data platform.
func (e *env) dcasCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "dcas", Short: "DCAS key ladder (GY/T 255): chip keys for the injection station, EMMs and ECMs"}
	cmd.AddCommand(e.dcasInjectCommand(), e.dcasEMMCommand(), e.dcasECMCommand(), e.dcasSignImageCommand(), e.dcasVerifyImageCommand())
	return cmd
}

// chipFlags name a vendor key and a file of ChipIDs, sent in batches.
type chipFlags struct {
	key, chips, out string
	batch, version  int
}

func (f *chipFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.key, "key", "", "the vendor root key (a derived sm4 key)")
	cmd.Flags().StringVar(&f.chips, "chips", "", "CSV file whose first column is the ChipID in hex (a header line, blank lines and # comments are skipped)")
	cmd.Flags().StringVar(&f.out, "out", "", "write to this file")
	cmd.Flags().IntVar(&f.batch, "batch", 1000, fmt.Sprintf("chips per request, 1 to %d", dcas.MaxChips))
	cmd.Flags().IntVar(&f.version, "version", 0, "vendor key version (default: the latest)")
	for _, name := range []string{"key", "chips", "out"} {
		_ = cmd.MarkFlagRequired(name)
	}
}

// each reads the chips file and calls fn with each batch, printing a
// progress bar to the error stream.
func (f *chipFlags) each(e *env, fn func(chips []string) error) error {
	if f.batch < 1 || f.batch > dcas.MaxChips {
		return fmt.Errorf("--batch must be 1 to %d", dcas.MaxChips)
	}
	total, err := countChips(f.chips)
	if err != nil {
		return err
	}
	file, err := os.Open(f.chips)
	if err != nil {
		return err
	}
	defer file.Close()
	done, line := 0, 0
	batch := make([]string, 0, f.batch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := fn(batch); err != nil {
			return err
		}
		done += len(batch)
		batch = batch[:0]
		progress(e.errOut, done, total)
		return nil
	}
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		line++
		id, ok := chipField(sc.Text())
		if !ok {
			continue
		}
		if _, err := hex.DecodeString(id); err != nil {
			if line == 1 { // a header
				total--
				continue
			}
			return fmt.Errorf("%s line %d: %q is not a hex ChipID", f.chips, line, id)
		}
		if batch = append(batch, id); len(batch) == f.batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.errOut)
	return nil
}

// chipField returns the first field of a CSV line, if the line has one.
func chipField(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, "#") {
		return "", false
	}
	id, _, _ := strings.Cut(s, ",")
	return strings.TrimSpace(id), true
}

// countChips counts the lines with a chip (or a header) for the progress
// bar.
func countChips(name string) (int, error) {
	file, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer file.Close()
	n := 0
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		if _, ok := chipField(sc.Text()); ok {
			n++
		}
	}
	return n, sc.Err()
}

// progress draws a bar of done out of total chips on one line.
func progress(w io.Writer, done, total int) {
	const width = 40
	filled := width
	if total > 0 && done < total {
		filled = width * done / total
	}
	fmt.Fprintf(w, "\r[%s%s] %d/%d chips", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
}

func (e *env) dcasInjectCommand() *cobra.Command {
	var f chipFlags
	var station string
	cmd := &cobra.Command{
		Use:   "inject --key K --chips chips.csv --station station.pem --out inject.bin",
		Short: "Write the chips' keys for the injection station, encrypted to its SM2 key (never in clear)",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			pub, err := os.ReadFile(station)
			if err != nil {
				return err
			}
			return e.writeChips(&f, func(w io.Writer, chips []string) error {
				r, err := c.DCAS().Inject(ctx, f.key, sdk.DCASInjectRequest{Chips: chips, StationKey: string(pub), Version: f.version})
				if err != nil {
					return err
				}
				return dcas.WriteBlock(w, r.Block)
			})
		}),
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&station, "station", "", "the injection station's SM2 public key (PEM)")
	_ = cmd.MarkFlagRequired("station")
	return cmd
}

func (e *env) dcasEMMCommand() *cobra.Command {
	var f chipFlags
	var period int64
	cmd := &cobra.Command{
		Use:   "emm --key K --chips chips.csv --period N --out emms.txt",
		Short: "Write the EMM of each chip for an entitlement period: lines of ChipID,base64 EMM",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			return e.writeChips(&f, func(w io.Writer, chips []string) error {
				r, err := c.DCAS().EMMs(ctx, f.key, sdk.DCASEMMRequest{Chips: chips, Period: period, Version: f.version})
				if err != nil {
					return err
				}
				for i, emm := range r.EMMs {
					if _, err := fmt.Fprintf(w, "%s,%s\n", chips[i], base64.StdEncoding.EncodeToString(emm)); err != nil {
						return err
					}
				}
				return nil
			})
		}),
	}
	f.bind(cmd)
	cmd.Flags().Int64Var(&period, "period", 0, "the entitlement period")
	_ = cmd.MarkFlagRequired("period")
	return cmd
}

// writeChips runs fn on each batch of chips, writing to f.out.
func (e *env) writeChips(f *chipFlags, fn func(w io.Writer, chips []string) error) error {
	out, err := os.Create(f.out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	err = f.each(e, func(chips []string) error { return fn(w, chips) })
	if err == nil {
		err = w.Flush()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func (e *env) dcasECMCommand() *cobra.Command {
	var req sdk.DCASECMRequest
	var key, cw string
	cmd := &cobra.Command{
		Use:   "ecm --key K --channel C --period N",
		Short: "An ECM of a channel for a period, and the control word it carries (mima makes one unless --cw)",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			if cw != "" {
				b, err := hex.DecodeString(cw)
				if err != nil {
					return fmt.Errorf("--cw is not hex: %w", err)
				}
				req.CW = b
			}
			r, err := c.DCAS().ECM(ctx, key, req)
			if err != nil {
				return err
			}
			return e.print(r, func(w io.Writer) {
				fmt.Fprintf(w, "ECM\t%s\n", base64.StdEncoding.EncodeToString(r.ECM))
				fmt.Fprintf(w, "CW\t%s\n", hex.EncodeToString(r.CW))
				fmt.Fprintf(w, "Key version\t%d\n", r.KeyVersion)
			})
		}),
	}
	cmd.Flags().StringVar(&key, "key", "", "the vendor root key (a derived sm4 key)")
	cmd.Flags().StringVar(&req.Channel, "channel", "", "the channel")
	cmd.Flags().Int64Var(&req.Period, "period", 0, "the entitlement period")
	cmd.Flags().StringVar(&cw, "cw", "", "the scrambler's 16-byte control word in hex (default: a new one)")
	cmd.Flags().IntVar(&req.Version, "version", 0, "vendor key version (default: the latest)")
	for _, name := range []string{"key", "channel", "period"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func (e *env) dcasSignImageCommand() *cobra.Command {
	var key, signer, certFile, in, out string
	var version int
	cmd := &cobra.Command{
		Use:   "sign-image --key K --signer S --cert signer.pem --in app.bin --out app.img",
		Short: "Make a terminal software image: encrypted under a key only chips with the vendor key's BL_KEY0 unwind, signed by an SM2 key of mima",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			cert, err := readCertPEM(certFile)
			if err != nil {
				return err
			}
			pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
			if !ok {
				return fmt.Errorf("%s does not certify an SM2 key", certFile)
			}
			software, err := os.ReadFile(in)
			if err != nil {
				return err
			}
			k, err := c.DCAS().ImageKey(ctx, key, sdk.DCASImageKeyRequest{Version: version})
			if err != nil {
				return err
			}
			defer clear(k.Key)
			img, err := dcas.SealImage(rand.Reader, dcas.ImageKeyResult{Key: k.Key, Wrapped: k.Wrapped, Version: k.KeyVersion}, software, cert.Raw, func(signed []byte) ([]byte, error) {
				digest, err := sm2.CalculateSM2Hash(pub, signed, nil)
				if err != nil {
					return nil, err
				}
				r, err := c.Crypto().Sign(ctx, signer, sdk.SignRequest{Input: digest, Prehashed: true})
				if err != nil {
					return nil, err
				}
				if !sm2.VerifyASN1WithSM2(pub, nil, signed, r.Signature) {
					return nil, fmt.Errorf("key %s (version %d) is not the key %s certifies", signer, r.KeyVersion, certFile)
				}
				return r.Signature, nil
			})
			if err != nil {
				return err
			}
			return os.WriteFile(out, img, 0o644)
		}),
	}
	cmd.Flags().StringVar(&key, "key", "", "the vendor root key (a derived sm4 key) whose BL_KEY0 the chips hold")
	cmd.Flags().StringVar(&signer, "signer", "", "the SM2 key of mima that signs")
	cmd.Flags().StringVar(&certFile, "cert", "", "the signer key's code-signing certificate (PEM), from a mima CA")
	cmd.Flags().StringVar(&in, "in", "", "the terminal software")
	cmd.Flags().StringVar(&out, "out", "", "write the image to this file")
	cmd.Flags().IntVar(&version, "version", 0, "vendor key version (default: the latest)")
	for _, name := range []string{"key", "signer", "cert", "in", "out"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func (e *env) dcasVerifyImageCommand() *cobra.Command {
	var caFile, in string
	cmd := &cobra.Command{
		Use:   "verify-image --ca ca.pem --in app.img",
		Short: "Check a terminal software image as a terminal's loader does before decrypting it: its signature, and its signer's code-signing certificate under the CA (offline)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			roots, err := os.ReadFile(caFile)
			if err != nil {
				return err
			}
			pool := smx509.NewCertPool()
			if !pool.AppendCertsFromPEM(roots) {
				return fmt.Errorf("%s holds no PEM certificate", caFile)
			}
			b, err := os.ReadFile(in)
			if err != nil {
				return err
			}
			img, err := dcas.ParseImage(b)
			if err == nil {
				err = img.Verify(pool)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", in, err)
			}
			r := struct {
				Valid      bool   `json:"valid"`
				Signer     string `json:"signer"`
				KeyVersion int    `json:"key_version"`
				Bytes      int    `json:"bytes"`
			}{true, img.Cert.Subject.String(), img.Version, len(img.Sealed) - sm4gcm.Overhead}
			return e.print(r, func(w io.Writer) {
				fmt.Fprintf(w, "Valid\ttrue\nSigner\t%s\nKey version\t%d\nSoftware bytes\t%d\n", r.Signer, r.KeyVersion, r.Bytes)
			})
		},
	}
	cmd.Flags().StringVar(&caFile, "ca", "", "the CA certificates the terminals trust (PEM)")
	cmd.Flags().StringVar(&in, "in", "", "the image")
	for _, name := range []string{"ca", "in"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

// readCertPEM reads one PEM certificate.
func readCertPEM(name string) (*smx509.Certificate, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s holds no PEM certificate", name)
	}
	return smx509.ParseCertificate(block.Bytes)
}
