package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/internal/pemkey"
	"github.com/mimacrypto/mima/sdk"
)

// subjectFlags are the distinguished name and alternative names flags.
type subjectFlags struct {
	subject sdk.Subject
	sans    sdk.SANs
}

func (s *subjectFlags) bind(cmd *cobra.Command, withSANs bool) {
	f := cmd.Flags()
	f.StringVar(&s.subject.CommonName, "cn", "", "subject common name")
	f.StringSliceVar(&s.subject.Organization, "org", nil, "subject organization (O)")
	f.StringSliceVar(&s.subject.OrganizationalUnit, "ou", nil, "subject organizational unit (OU)")
	f.StringSliceVar(&s.subject.Country, "country", nil, "subject country (C)")
	f.StringSliceVar(&s.subject.Province, "province", nil, "subject province (ST)")
	f.StringSliceVar(&s.subject.Locality, "locality", nil, "subject locality (L)")
	if withSANs {
		f.StringSliceVar(&s.sans.DNS, "dns", nil, "DNS subject alternative name (repeatable)")
		f.StringSliceVar(&s.sans.Email, "email", nil, "e-mail subject alternative name")
		f.StringSliceVar(&s.sans.IP, "ip", nil, "IP subject alternative name")
		f.StringSliceVar(&s.sans.URI, "uri", nil, "URI subject alternative name")
	}
}

func (e *env) caCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "ca", Short: "Certificate authorities: create, profiles, issue, revoke, CRL"}
	cmd.AddCommand(e.caCreateCommand("create-root", "Create a self-signed SM2 root CA", "root"),
		e.caCreateCommand("create-intermediate", "Create an intermediate CA signed by --issuer, or by an external CA (--external prints its CSR)", "intermediate"),
		e.caInstallCommand(), e.caListCommand(), e.caShowCommand(), e.caChainCommand(), e.caCRLCommand(),
		e.caConfigCommand(), e.caProfileCommand(), e.caSignCSRCommand(), e.caIssueCommand(), e.caKeyPairCommand(), e.caDualCommand(), e.caRevokeCommand())
	return cmd
}

func (e *env) caCreateCommand(use, short, typ string) *cobra.Command {
	var req sdk.CreateCARequest
	var s subjectFlags
	var pathLen int
	var external bool
	cmd := &cobra.Command{
		Use: use + " NAME", Short: short, Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			req.Name, req.Type, req.Subject = args[0], typ, s.subject
			if external {
				req.Type = "external"
			}
			if pathLen >= 0 {
				req.MaxPathLen = &pathLen
			}
			ca, err := c.CA().Create(ctx, req)
			if err != nil {
				return err
			}
			return e.printCA(ca)
		}),
	}
	s.bind(cmd, false)
	f := cmd.Flags()
	f.StringVar(&req.TTL, "ttl", "", "validity, e.g. 87600h (default: 10 years for roots, 5 for intermediates)")
	f.IntVar(&pathLen, "max-path-len", -1, "how many CAs may follow this one (default: no limit)")
	f.StringVar(&req.Config.CRLURL, "crl-url", "", "CRL distribution point written into issued certificates")
	f.StringVar(&req.Config.OCSPURL, "ocsp-url", "", "OCSP responder URL written into issued certificates")
	if typ == "intermediate" {
		f.StringVar(&req.Issuer, "issuer", "", "the mima CA that signs this one")
		f.BoolVar(&external, "external", false, "have an external CA sign it: prints the CSR; then `mima ca install`")
	}
	return cmd
}

func (e *env) caInstallCommand() *cobra.Command {
	var certFile, chainFile string
	cmd := &cobra.Command{
		Use: "install NAME --cert FILE", Short: "Install the certificate an external CA signed for NAME's CSR", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			cert, err := os.ReadFile(certFile)
			if err != nil {
				return err
			}
			var chain []byte
			if chainFile != "" {
				if chain, err = os.ReadFile(chainFile); err != nil {
					return err
				}
			}
			ca, err := c.CA().InstallCertificate(ctx, args[0], string(cert), string(chain))
			if err != nil {
				return err
			}
			return e.printCA(ca)
		}),
	}
	cmd.Flags().StringVar(&certFile, "cert", "", "PEM certificate signed by the external CA")
	cmd.Flags().StringVar(&chainFile, "chain", "", "PEM chain of the external CA, nearest first, up to its root")
	_ = cmd.MarkFlagRequired("cert")
	return cmd
}

func (e *env) caListCommand() *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List CAs", Args: cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			cas, err := c.CA().List(ctx)
			if err != nil {
				return err
			}
			return printList(e, cas, "", "NAME\tTYPE\tSTATE\tSUBJECT\tNOT AFTER", func(ca sdk.CA) string {
				return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", ca.Name, ca.Type, ca.State, ca.Subject, ca.NotAfter.Format(timeLayout))
			})
		}),
	}
}

func (e *env) caShowCommand() *cobra.Command {
	return &cobra.Command{
		Use: "show NAME", Short: "Describe a CA", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			ca, err := c.CA().Get(ctx, args[0])
			if err != nil {
				return err
			}
			return e.printCA(ca)
		}),
	}
}

func (e *env) caChainCommand() *cobra.Command {
	var f ioFlags
	cmd := &cobra.Command{
		Use: "chain NAME", Short: "Write the CA's certificate chain (PEM)", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			chain, err := c.CA().Chain(ctx, args[0])
			if err != nil {
				return err
			}
			return f.write(e, []byte(chain))
		}),
	}
	cmd.Flags().StringVar(&f.out, "out", "", "write to this file (default: standard output)")
	return cmd
}

func (e *env) caCRLCommand() *cobra.Command {
	var f ioFlags
	cmd := &cobra.Command{
		Use: "crl NAME", Short: "Write the CA's current CRL (DER)", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			crl, err := c.CA().CRL(ctx, args[0])
			if err != nil {
				return err
			}
			return f.write(e, crl)
		}),
	}
	cmd.Flags().StringVar(&f.out, "out", "", "write to this file (default: standard output)")
	return cmd
}

func (e *env) caConfigCommand() *cobra.Command {
	var cfg sdk.CAConfig
	cmd := &cobra.Command{
		Use: "config CA", Short: "Set the CRL and OCSP URLs certificates name, and the validity of CRLs and OCSP answers", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			ca, err := c.CA().Configure(ctx, args[0], cfg)
			if err != nil {
				return err
			}
			return e.printCA(ca)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&cfg.CRLURL, "crl-url", "", "CRL distribution point of the certificates it issues")
	f.StringVar(&cfg.OCSPURL, "ocsp-url", "", "OCSP responder of the certificates it issues")
	f.StringVar(&cfg.CRLValidity, "crl-validity", "", "how long a CRL is valid, e.g. 7d")
	f.StringVar(&cfg.OCSPValidity, "ocsp-validity", "", "how long an OCSP answer is valid, e.g. 1h")
	return cmd
}

func (e *env) caProfileCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "profile", Short: "Issuance profiles of a CA"}
	var file string
	write := &cobra.Command{
		Use: "write CA NAME --file PROFILE.json", Short: "Create or replace a profile from a JSON file (fields: docs/ca.md)", Args: cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			b, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			var p sdk.Profile
			if err := json.Unmarshal(b, &p); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			p.Name = args[1]
			out, err := c.CA().PutProfile(ctx, args[0], p)
			if err != nil {
				return err
			}
			return e.print(out, nil)
		}),
	}
	write.Flags().StringVar(&file, "file", "", "JSON profile")
	_ = write.MarkFlagRequired("file")
	read := &cobra.Command{
		Use: "read CA NAME", Short: "Show a profile", Args: cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			p, err := c.CA().GetProfile(ctx, args[0], args[1])
			if err != nil {
				return err
			}
			return e.print(p, nil)
		}),
	}
	del := &cobra.Command{
		Use: "delete CA NAME", Short: "Delete a profile (a built-in one gets its built-in rules back)", Args: cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			if err := c.CA().DeleteProfile(ctx, args[0], args[1]); err != nil {
				return err
			}
			return e.print(map[string]any{"profile": args[1], "deleted": true}, func(w io.Writer) { fmt.Fprintf(w, "Deleted\t%s\n", args[1]) })
		}),
	}
	cmd.AddCommand(write, read, del, &cobra.Command{
		Use: "list CA", Short: "List a CA's profiles", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			ps, err := c.CA().ListProfiles(ctx, args[0])
			if err != nil {
				return err
			}
			return printList(e, ps, "", "NAME\tUSAGE\tMAX TTL\tEXT KEY USAGE", func(p sdk.Profile) string {
				return fmt.Sprintf("%s\t%s\t%s\t%v", p.Name, p.Usage, p.MaxTTL, p.ExtKeyUsage)
			})
		}),
	})
	return cmd
}

func (e *env) caSignCSRCommand() *cobra.Command {
	var req sdk.SignCSRRequest
	var f ioFlags
	cmd := &cobra.Command{
		Use: "sign-csr CA --in CSR.pem", Short: "Sign an SM2 PKCS#10 request; writes the certificate (PEM)", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			csr, err := f.read(e)
			if err != nil {
				return err
			}
			req.CSR = string(csr)
			ct, err := c.CA().SignCSR(ctx, args[0], req)
			return e.emitCert(&f, ct, err)
		}),
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&req.Profile, "profile", "", "profile (default: default)")
	cmd.Flags().StringVar(&req.TTL, "ttl", "", "validity (default: the profile's)")
	return cmd
}

func (e *env) caIssueCommand() *cobra.Command {
	var req sdk.IssueRequest
	var s subjectFlags
	var f ioFlags
	cmd := &cobra.Command{
		Use: "issue CA --key KEY --cn NAME", Short: "Certify an sm2 key held in mima; writes the certificate (PEM)", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			req.Subject, req.SANs = s.subject, s.sans
			ct, err := c.CA().Issue(ctx, args[0], req)
			return e.emitCert(&f, ct, err)
		}),
	}
	s.bind(cmd, true)
	cmd.Flags().StringVar(&f.out, "out", "", "write the certificate here (default: standard output)")
	cmd.Flags().StringVar(&req.Key, "key", "", "the sm2 key in mima to certify")
	cmd.Flags().StringVar(&req.Profile, "profile", "", "profile (default: default)")
	cmd.Flags().StringVar(&req.TTL, "ttl", "", "validity (default: the profile's)")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

func (e *env) caKeyPairCommand() *cobra.Command {
	var req sdk.KeyPairRequest
	var s subjectFlags
	var wrapFile, passFile, keyOut string
	var f ioFlags
	cmd := &cobra.Command{
		Use:   "issue-keypair CA --cn NAME --key-out FILE",
		Short: "Generate a key pair server-side and certify it (key enveloped, or encrypted PKCS#8)",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			req.Subject, req.SANs = s.subject, s.sans
			if wrapFile != "" {
				b, err := os.ReadFile(wrapFile)
				if err != nil {
					return err
				}
				req.WrappingKey = string(b)
			}
			if req.Format != "enveloped" {
				p, err := e.password(passFile, true)
				if err != nil {
					return err
				}
				req.Password = p
			}
			kp, err := c.CA().IssueKeyPair(ctx, args[0], req)
			if err != nil {
				return err
			}
			if err := os.WriteFile(keyOut, kp.PrivateKey, 0o600); err != nil {
				return err
			}
			return e.emitCert(&f, kp.Certificate, nil)
		}),
	}
	s.bind(cmd, true)
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "", "write the certificate here (default: standard output)")
	fl.StringVar(&keyOut, "key-out", "", "write the protected private key here")
	fl.StringVar(&req.Format, "format", "pkcs8", "enveloped (to --wrapping-key), pkcs8 (encrypted, PBES2 with SM4) or cfca-sm2")
	fl.StringVar(&wrapFile, "wrapping-key", "", "PEM SM2 public key to envelope the private key to")
	fl.StringVar(&passFile, "password-file", "", "password for pkcs8 and cfca-sm2 (default: standard input)")
	fl.StringVar(&req.Profile, "profile", "", "profile (default: default)")
	fl.StringVar(&req.TTL, "ttl", "", "validity")
	_ = cmd.MarkFlagRequired("key-out")
	return cmd
}

func (e *env) caDualCommand() *cobra.Command {
	var req sdk.DualRequest
	var f ioFlags
	var encOut, keyOut, signKey string
	cmd := &cobra.Command{
		Use:   "issue-dual CA --in CSR.pem --enc-out ENC.pem --key-out ENC.key [--sign-key SIGN.key]",
		Short: "Dual certificates (GM/T 0015): signing for the CSR's key, encryption for an escrowed key enveloped to it",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			csr, err := f.read(e)
			if err != nil {
				return err
			}
			req.CSR = string(csr)
			d, err := c.CA().IssueDual(ctx, args[0], req)
			if err != nil {
				return err
			}
			if err := os.WriteFile(encOut, []byte(d.Encryption.Certificate), 0o600); err != nil {
				return err
			}
			key := d.EnvelopedKey
			if signKey != "" {
				if key, err = openEnvelope(signKey, key); err != nil {
					return err
				}
			}
			if err := os.WriteFile(keyOut, key, 0o600); err != nil {
				return err
			}
			return e.emitCert(&f, d.Signing, nil)
		}),
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&encOut, "enc-out", "", "write the encryption certificate (PEM) here")
	cmd.Flags().StringVar(&keyOut, "key-out", "", "write the enveloped encryption key (GB/T 35276, DER) here")
	cmd.Flags().StringVar(&signKey, "sign-key", "", "the CSR's private key (PEM): open the envelope with it and write the encryption key as PKCS#8 PEM instead")
	cmd.Flags().StringVar(&req.Profile, "profile", "", "signing profile (default: default)")
	cmd.Flags().StringVar(&req.EncryptionProfile, "encryption-profile", "", "encryption profile (default: default-encryption)")
	cmd.Flags().StringVar(&req.TTL, "ttl", "", "validity")
	_ = cmd.MarkFlagRequired("enc-out")
	_ = cmd.MarkFlagRequired("key-out")
	return cmd
}

func (e *env) caRevokeCommand() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use: "revoke CA SERIAL", Short: "Revoke a certificate the CA issued", Args: cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			return e.printCertOrErr(c.CA().Revoke(ctx, args[0], args[1], sdk.RevocationReason(reason)))
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "unspecified", "RFC 5280 reason: keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn")
	return cmd
}

func (e *env) certCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "cert", Short: "Issued certificates: list, show, renew, revoke, hold, release"}
	var q sdk.CertificatesQuery
	var expiring time.Duration
	list := &cobra.Command{
		Use: "list", Short: "Search certificates", Args: cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			if expiring > 0 {
				q.ExpiresAfter, q.ExpiresBefore = time.Now(), time.Now().Add(expiring)
			}
			page, err := c.Certs().List(ctx, q)
			if err != nil {
				return err
			}
			return printList(e, page.Certificates, page.Next, "SERIAL\tCA\tSTATE\tSUBJECT\tNOT AFTER", func(ct sdk.Certificate) string {
				return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", ct.Serial, ct.CA, ct.State, ct.Subject, ct.NotAfter.Format(timeLayout))
			})
		}),
	}
	lf := list.Flags()
	lf.StringVar(&q.CA, "ca", "", "issued by this CA")
	lf.StringVar(&q.Subject, "subject", "", "subject contains this (any case)")
	lf.StringVar(&q.SAN, "san", "", "has this subject alternative name")
	lf.StringVar(&q.State, "state", "", "valid, revoked, on_hold or expired")
	durationFlag(lf, &expiring, "expiring", 0, "expires within this long, e.g. 30d")
	lf.IntVar(&q.Limit, "limit", 0, "page size")
	lf.StringVar(&q.After, "after", "", "continue from this cursor")

	var ttl time.Duration
	var reason string
	var renewOut ioFlags
	renew := &cobra.Command{
		Use:   "renew SERIAL",
		Short: "A new certificate for the same subject, key and profile; prints its PEM (the new serial on standard error), a table with --format table",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			ct, err := c.Certs().Renew(ctx, args[0], ttl)
			if e.formatSet && e.format == "table" && renewOut.out == "" {
				return e.printCertOrErr(ct, err)
			}
			if err == nil && renewOut.out == "" && e.format != "json" {
				fmt.Fprintf(e.errOut, "serial %s\n", ct.Serial)
			}
			return e.emitCert(&renewOut, ct, err)
		}),
	}
	durationFlag(renew.Flags(), &ttl, "ttl", 0, "validity such as 720h or 30d (default: the profile's)")
	renew.Flags().StringVar(&renewOut.out, "out", "", "write the certificate here (default: standard output)")
	revoke := &cobra.Command{
		Use: "revoke SERIAL", Short: "Revoke a certificate", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			return e.printCertOrErr(c.Certs().Revoke(ctx, args[0], sdk.RevocationReason(reason)))
		}),
	}
	revoke.Flags().StringVar(&reason, "reason", "unspecified", "RFC 5280 reason")
	simple := func(use, short string, call func(sdk.CertsClient, context.Context, string) (sdk.Certificate, error)) *cobra.Command {
		return &cobra.Command{
			Use: use + " SERIAL", Short: short, Args: cobra.ExactArgs(1),
			RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
				return e.printCertOrErr(call(c.Certs(), ctx, args[0]))
			}),
		}
	}
	cmd.AddCommand(list, renew, revoke,
		simple("show", "Describe a certificate", sdk.CertsClient.Get),
		simple("hold", "Suspend a certificate (certificateHold)", sdk.CertsClient.Hold),
		simple("release", "Take a certificate off hold", sdk.CertsClient.Release))
	return cmd
}

// emitCert writes a certificate's PEM to --out (or standard output), or
// the whole record with --format json.
func (e *env) emitCert(f *ioFlags, ct sdk.Certificate, err error) error {
	if err != nil {
		return err
	}
	if f.out == "" && e.format == "json" {
		return e.print(ct, nil)
	}
	if f.out != "" {
		fmt.Fprintf(e.errOut, "serial %s\n", ct.Serial)
	}
	return f.write(e, []byte(ct.Certificate))
}

func (e *env) printCertOrErr(ct sdk.Certificate, err error) error {
	if err != nil {
		return err
	}
	return e.print(ct, func(w io.Writer) {
		fmt.Fprintf(w, "Serial\t%s\n", ct.Serial)
		fmt.Fprintf(w, "CA\t%s\n", ct.CA)
		fmt.Fprintf(w, "Subject\t%s\n", ct.Subject)
		fmt.Fprintf(w, "State\t%s\n", ct.State)
		if ct.Reason != "" {
			fmt.Fprintf(w, "Reason\t%s\n", ct.Reason)
		}
		fmt.Fprintf(w, "Not after\t%s\n", ct.NotAfter.Format(timeLayout))
	})
}

func (e *env) printCA(ca sdk.CA) error {
	return e.print(ca, func(w io.Writer) {
		fmt.Fprintf(w, "Name\t%s\n", ca.Name)
		fmt.Fprintf(w, "Type\t%s\n", ca.Type)
		fmt.Fprintf(w, "State\t%s\n", ca.State)
		fmt.Fprintf(w, "Key\t%s\n", ca.Key)
		if ca.Subject != "" {
			fmt.Fprintf(w, "Subject\t%s\n", ca.Subject)
			fmt.Fprintf(w, "Not after\t%s\n", ca.NotAfter.Format(timeLayout))
		}
		if ca.CSR != "" {
			fmt.Fprintf(w, "CSR\n%s", ca.CSR)
		}
	})
}

// openEnvelope opens an enveloped encryption key with the signing key in
// signKeyFile and returns it as PKCS#8 PEM.
func openEnvelope(signKeyFile string, env []byte) ([]byte, error) {
	signKey, err := pemkey.ReadSM2(signKeyFile)
	if err != nil {
		return nil, err
	}
	k, err := sdk.OpenEnvelopedKey(env, signKey)
	if err != nil {
		return nil, fmt.Errorf("opening the encryption key with %s: %w", signKeyFile, err)
	}
	return pemkey.Encode(k)
}
