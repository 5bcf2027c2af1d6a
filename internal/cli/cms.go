package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/emmansun/gmsm/sm2"
	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/internal/cms"
	"github.com/mimacrypto/mima/sdk"
)

func (e *env) cmsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "cms", Short: "CMS / PKCS#7 SM2 signed data and digital envelopes (GM/T 0010)"}
	var f ioFlags
	var req sdk.CMSSignRequest
	sign := &cobra.Command{
		Use: "sign --key KEY", Short: "Sign the input with a key held in mima; writes DER SignedData", Args: cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			in, err := f.read(e)
			if err != nil {
				return err
			}
			req.Content = in
			der, err := c.CMS().Sign(ctx, req)
			if err != nil {
				return err
			}
			return f.write(e, der)
		}),
	}
	f.bind(sign)
	signerFlags(sign, &req.SignerOptions)
	sf := sign.Flags()
	sf.BoolVar(&req.Detached, "detached", false, "leave the content out of the SignedData")
	sf.BoolVar(&req.RFC5652, "rfc5652", false, "RFC 5652 OIDs instead of GM/T 0010's")

	var vf ioFlags
	var vreq sdk.CMSVerifyRequest
	var contentFile string
	verify := &cobra.Command{
		Use: "verify --in SIGNED.p7", Short: "Verify SignedData: signature, chain, revocation; exit 2 when not valid", Args: cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			in, err := vf.read(e)
			if err != nil {
				return err
			}
			vreq.CMS = in
			if contentFile != "" {
				if vreq.Content, err = os.ReadFile(contentFile); err != nil {
					return err
				}
			}
			rep, err := c.CMS().Verify(ctx, vreq)
			if err != nil {
				return err
			}
			if err := e.print(rep, func(w io.Writer) { printVerifyReport(w, rep) }); err != nil {
				return err
			}
			if !rep.Valid {
				return exitError{code: 2}
			}
			return nil
		}),
	}
	verify.Flags().StringVar(&vf.in, "in", "", "the SignedData (default: standard input)")
	verify.Flags().StringVar(&contentFile, "content", "", "the content of a detached signature")
	verify.Flags().StringSliceVar(&vreq.TrustCAs, "trust-ca", nil, "trust this mima CA (repeatable)")
	verify.Flags().BoolVar(&vreq.UseOCSP, "ocsp", false, "check revocation with OCSP instead of the CRL")

	var ef ioFlags
	var recipients []string
	encrypt := &cobra.Command{
		Use: "encrypt --to CERT.pem", Short: "Envelope the input to SM2 encryption certificates; writes DER EnvelopedData", Args: cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			in, err := ef.read(e)
			if err != nil {
				return err
			}
			var certs []string
			for _, r := range recipients {
				b, err := os.ReadFile(r)
				if err != nil {
					return err
				}
				certs = append(certs, string(b))
			}
			der, err := c.CMS().Encrypt(ctx, sdk.CMSEncryptRequest{Recipients: certs, Content: in})
			if err != nil {
				return err
			}
			return ef.write(e, der)
		}),
	}
	ef.bind(encrypt)
	encrypt.Flags().StringArrayVar(&recipients, "to", nil, "recipient's SM2 encryption certificate, PEM (repeatable)")
	_ = encrypt.MarkFlagRequired("to")

	var df ioFlags
	var key string
	decrypt := &cobra.Command{
		Use: "decrypt --key KEY", Short: "Open an envelope with a key held in mima; writes the content", Args: cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			in, err := df.read(e)
			if err != nil {
				return err
			}
			content, err := c.CMS().Decrypt(ctx, sdk.CMSDecryptRequest{CMS: in, Key: key})
			if err != nil {
				return err
			}
			return df.write(e, content)
		}),
	}
	df.bind(decrypt)
	decrypt.Flags().StringVar(&key, "key", "", "the sm2 key in mima the envelope is for")
	_ = decrypt.MarkFlagRequired("key")
	cmd.AddCommand(sign, e.cmsAddSignerCommand(), e.cmsCounterSignCommand(), verify, encrypt, decrypt)
	return cmd
}

func printVerifyReport(w io.Writer, rep sdk.CMSVerifyReport) {
	fmt.Fprintf(w, "Valid\t%v\n", rep.Valid)
	for i, s := range rep.Signers {
		fmt.Fprintf(w, "Signer %d\t%s (serial %s)\n", i+1, s.Certificate.Subject, s.Certificate.Serial)
		fmt.Fprintf(w, "  valid\t%v\n", s.Valid)
		if !s.SigningTime.IsZero() {
			fmt.Fprintf(w, "  signing time\t%s\n", s.SigningTime.Format(timeLayout))
		}
		if s.Timestamp != nil {
			fmt.Fprintf(w, "  timestamp\t%s (valid %v)\n", s.Timestamp.Time.Format(timeLayout), s.Timestamp.Valid)
		}
		fmt.Fprintf(w, "  chain\t%s\n", s.Chain)
		fmt.Fprintf(w, "  revocation\t%s", s.Revocation.Status)
		if !s.Revocation.RevokedAt.IsZero() {
			fmt.Fprintf(w, " at %s (%s)", s.Revocation.RevokedAt.Format(timeLayout), s.Revocation.Reason)
		}
		fmt.Fprintln(w)
		for _, r := range s.Reasons {
			fmt.Fprintf(w, "  reason\t%s\n", r)
		}
	}
}

// signerFlags are the flags of a signer held in mima.
func signerFlags(cmd *cobra.Command, o *sdk.SignerOptions) {
	f := cmd.Flags()
	f.StringVar(&o.Key, "key", "", "the sm2 key in mima that signs (its certificate from a mima CA is used)")
	f.BoolVar(&o.IncludeChain, "chain", false, "include the certificate chain")
	f.StringVar(&o.TSA, "tsa", "", "add a signature timestamp from this TSA")
	_ = cmd.MarkFlagRequired("key")
}

func (e *env) cmsAddSignerCommand() *cobra.Command {
	var f ioFlags
	var req sdk.CMSAddSignerRequest
	var contentFile string
	cmd := &cobra.Command{
		Use: "add-signer --in SIGNED.p7 --key KEY", Short: "Add a parallel signature to SignedData; writes the new DER SignedData", Args: cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			var err error
			if req.CMS, err = f.read(e); err != nil {
				return err
			}
			if contentFile != "" {
				if req.Content, err = os.ReadFile(contentFile); err != nil {
					return err
				}
			}
			der, err := c.CMS().AddSigner(ctx, req)
			if err != nil {
				return err
			}
			return f.write(e, der)
		}),
	}
	f.bind(cmd)
	signerFlags(cmd, &req.SignerOptions)
	cmd.Flags().StringVar(&contentFile, "content", "", "the content of a detached signature")
	return cmd
}

func (e *env) cmsCounterSignCommand() *cobra.Command {
	var f ioFlags
	var req sdk.CMSCounterSignRequest
	cmd := &cobra.Command{
		Use: "countersign --in SIGNED.p7 --key KEY", Short: "Countersign a signer of SignedData; writes the new DER SignedData", Args: cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			var err error
			if req.CMS, err = f.read(e); err != nil {
				return err
			}
			der, err := c.CMS().CounterSign(ctx, req)
			if err != nil {
				return err
			}
			return f.write(e, der)
		}),
	}
	f.bind(cmd)
	signerFlags(cmd, &req.SignerOptions)
	cmd.Flags().IntVar(&req.Signer, "signer", 0, "the signer to countersign, from 0")
	return cmd
}

func (e *env) tsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "ts", Short: "RFC 3161 timestamps"}
	var f ioFlags
	var tsa string
	request := &cobra.Command{
		Use: "request --in FILE", Short: "Timestamp a file (SM3 imprint, streamed); writes the DER TimeStampResp", Args: cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			in, err := f.open(e)
			if err != nil {
				return err
			}
			defer in.Close()
			req, _, err := cms.NewTimestampRequest(rand.Reader, in)
			if err != nil {
				return err
			}
			resp, err := c.TSA().Timestamp(ctx, tsa, req)
			if err != nil {
				return err
			}
			return f.write(e, resp)
		}),
	}
	f.bind(request)
	request.Flags().StringVar(&tsa, "tsa", "", "TSA name (default: default)")

	var vreq sdk.TimestampVerifyRequest
	var vf ioFlags
	var dataFile string
	verify := &cobra.Command{
		Use: "verify --in REPLY.tsr --data-file FILE", Short: "Verify a timestamp over a file; exit 2 when not valid", Args: cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			var err error
			if vreq.Token, err = vf.read(e); err != nil {
				return err
			}
			if vreq.Data, err = os.ReadFile(dataFile); err != nil {
				return err
			}
			rep, err := c.TSA().Verify(ctx, vreq)
			if err != nil {
				return err
			}
			if err := e.print(rep, func(w io.Writer) {
				fmt.Fprintf(w, "Valid\t%v\n", rep.Valid)
				fmt.Fprintf(w, "Time\t%s\n", rep.Time.Format(timeLayout))
				fmt.Fprintf(w, "Serial\t%s\n", rep.Serial)
				fmt.Fprintf(w, "Policy\t%s\n", rep.Policy)
				fmt.Fprintf(w, "TSA\t%s\n", rep.TSA.Subject)
				for _, r := range rep.Reasons {
					fmt.Fprintf(w, "Reason\t%s\n", r)
				}
			}); err != nil {
				return err
			}
			if !rep.Valid {
				return exitError{code: 2}
			}
			return nil
		}),
	}
	verify.Flags().StringVar(&vf.in, "in", "", "the TimeStampResp or TimeStampToken, DER (default: standard input)")
	verify.Flags().StringVar(&dataFile, "data-file", "", "the file that was timestamped")
	verify.Flags().StringSliceVar(&vreq.TrustCAs, "trust-ca", nil, "trust this mima CA (repeatable)")
	_ = verify.MarkFlagRequired("data-file")
	cmd.AddCommand(request, verify)
	return cmd
}

// loginCommand logs in with a certificate and a local SM2 private key, as
// a USB key would: it asks for a challenge, signs it and prints a token.
func (e *env) loginCommand() *cobra.Command {
	var certFile, keyFile string
	cmd := &cobra.Command{
		Use:   "login --cert CERT.pem --key KEY.pem",
		Short: "Log in with a certificate and its SM2 key; prints a token",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			if e.tenant == "" {
				return errors.New("--tenant (or MIMA_TENANT) names the tenant to log in to")
			}
			cert, err := os.ReadFile(certFile)
			if err != nil {
				return err
			}
			keyPEM, err := os.ReadFile(keyFile)
			if err != nil {
				return err
			}
			material, err := parseMaterial("sm2", keyPEM)
			if err != nil {
				return err
			}
			priv := material.(*sm2.PrivateKey)
			ch, err := c.Auth().LoginChallenge(ctx, e.tenant)
			if err != nil {
				return err
			}
			sig, err := priv.Sign(rand.Reader, ch.Nonce, sm2.DefaultSM2SignerOpts)
			if err != nil {
				return err
			}
			res, err := c.Auth().Login(ctx, sdk.LoginRequest{Tenant: e.tenant, ChallengeID: ch.ID, Signature: sig, Certificate: string(cert)})
			if err != nil {
				return err
			}
			return e.print(res, func(w io.Writer) {
				fmt.Fprintf(w, "Token\t%s\n", res.Token)
				fmt.Fprintf(w, "Identity\t%s\n", res.Identity.Subject)
				printTokenInfo(w, res.TokenInfo)
			})
		}),
	}
	cmd.Flags().StringVar(&certFile, "cert", "", "the signing certificate, PEM")
	cmd.Flags().StringVar(&keyFile, "key", "", "its SM2 private key, PEM (PKCS#8 or SEC 1)")
	_ = cmd.MarkFlagRequired("cert")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}
