package cli

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/sdk/dnstsig"
)

// dnsCommand is mima dns: TSIG with HMAC-SM3 keys and zone transfers
// checked with it, DNSSEC with SM2 keys (RFC 9563).
func (e *env) dnsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "dns", Short: "DNS with ShangMi: TSIG with HMAC-SM3 (RFC 8945), zone transfers, DNSSEC with SM2/SM3 (RFC 9563)"}
	cmd.AddCommand(e.tsigSignCommand(), e.tsigVerifyCommand(), e.dnsTransferCommand())
	cmd.AddCommand(e.dnssecCommands()...)
	return cmd
}

// tsigFlags are the TSIG record's fields and the multi-message state.
type tsigFlags struct {
	keyName, algorithm, requestMAC string
	timersOnly                     bool
}

func (t *tsigFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.keyName, "key-name", "", "TSIG key name (default: the key's name)")
	cmd.Flags().StringVar(&t.algorithm, "algorithm", "", "TSIG algorithm name (default "+dnstsig.Algorithm+")")
	cmd.Flags().StringVar(&t.requestMAC, "request-mac", "", "base64 MAC of the request (answers) or of the previous message")
	cmd.Flags().BoolVar(&t.timersOnly, "timers-only", false, "a message after the first of a multi-message answer (RFC 8945 5.3.1)")
}

func (t *tsigFlags) mac() ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(t.requestMAC)
	if err != nil {
		return nil, fmt.Errorf("--request-mac is not base64: %w", err)
	}
	return b, nil
}

func (e *env) tsigSignCommand() *cobra.Command {
	var f ioFlags
	var t tsigFlags
	var fudge int
	cmd := &cobra.Command{
		Use:   "tsig-sign KEY",
		Short: "Add a TSIG record with HMAC-SM3 to a DNS message in wire form; writes the signed message (--format json: and its MAC)",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			in, err := f.read(e)
			if err != nil {
				return err
			}
			mac, err := t.mac()
			if err != nil {
				return err
			}
			r, err := c.DNS().TSIGSign(ctx, args[0], sdk.TSIGSignRequest{Message: in, RequestMAC: mac, TimersOnly: t.timersOnly,
				KeyName: t.keyName, Algorithm: t.algorithm, Fudge: fudge})
			if err != nil {
				return err
			}
			if f.out == "" && e.format == "json" {
				return e.print(r, nil)
			}
			return f.write(e, r.Message)
		}),
	}
	f.bind(cmd)
	t.bind(cmd)
	cmd.Flags().IntVar(&fudge, "fudge", 0, "permitted clock difference in seconds (default 300)")
	return cmd
}

func (e *env) tsigVerifyCommand() *cobra.Command {
	var f ioFlags
	var t tsigFlags
	cmd := &cobra.Command{
		Use:   "tsig-verify KEY",
		Short: "Check the TSIG of a DNS message in wire form; prints valid or the TSIG error (BADSIG, BADKEY, BADTIME) and exits 2 if not valid",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			in, err := f.read(e)
			if err != nil {
				return err
			}
			mac, err := t.mac()
			if err != nil {
				return err
			}
			r, err := c.DNS().TSIGVerify(ctx, args[0], sdk.TSIGVerifyRequest{Message: in, RequestMAC: mac, TimersOnly: t.timersOnly,
				KeyName: t.keyName, Algorithm: t.algorithm})
			if err != nil {
				return err
			}
			verdict := "valid"
			if !r.Valid {
				verdict = "invalid: " + r.TSIGError
			}
			if err := e.emit(&f, r, verdict); err != nil {
				return err
			}
			if !r.Valid {
				return exitError{code: 2}
			}
			return nil
		}),
	}
	f.bind(cmd)
	t.bind(cmd)
	return cmd
}

func (e *env) dnsTransferCommand() *cobra.Command {
	var server, zone, key, keyName, algorithm, out string
	var serial uint32
	cmd := &cobra.Command{
		Use: "transfer --server HOST:PORT --zone ZONE --key KEY",
		Short: "Fetch a zone by AXFR (or IXFR with --serial) with TSIG by an hmac-sm3 key in mima, checking every message's TSIG; " +
			"writes the records as master-file text; a TSIG error exits 2",
		Args: cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			if keyName == "" {
				keyName = key
			}
			p := dnstsig.New(ctx, c, map[string]string{dns.CanonicalName(keyName): key})
			p.Algorithm = algorithm
			rrs, n, err := dnstsig.Transfer(ctx, server, zone, serial, p, dnstsig.Options{KeyName: keyName, Algorithm: algorithm})
			if code := dnstsig.Code(err); code != 0 {
				fmt.Fprintf(e.errOut, "mima: %v (%s)\n", err, dnstsig.CodeName(code))
				return exitError{code: 2}
			}
			if err != nil {
				return err
			}
			f := ioFlags{out: out}
			if err := f.stream(e, func(w io.Writer) error { return writeRRs(w, rrs) }); err != nil {
				return err
			}
			fmt.Fprintf(e.errOut, "%d records in %d messages, every TSIG valid\n", len(rrs), n)
			return nil
		}),
	}
	cmd.Flags().StringVar(&server, "server", "", "the primary, host:port")
	cmd.Flags().StringVar(&zone, "zone", "", "the zone")
	cmd.Flags().StringVar(&key, "key", "", "the hmac-sm3 key in mima")
	cmd.Flags().StringVar(&keyName, "key-name", "", "TSIG key name (default: the key's name)")
	cmd.Flags().StringVar(&algorithm, "algorithm", "", "TSIG algorithm name (default "+dnstsig.Algorithm+")")
	cmd.Flags().Uint32Var(&serial, "serial", 0, "IXFR from this serial (default: AXFR)")
	cmd.Flags().StringVar(&out, "out", "", "write the records to this file (default: standard output)")
	for _, name := range []string{"server", "zone", "key"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

// writeRRs writes records as master-file text, one a line.
func writeRRs(w io.Writer, rrs []dns.RR) error {
	for _, rr := range rrs {
		if _, err := fmt.Fprintln(w, rr.String()); err != nil {
			return err
		}
	}
	return nil
}
