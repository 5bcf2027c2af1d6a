package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/internal/dnssec"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/sdk"
)

// dnssecCommands are mima dns sign-zone and verify-zone.
func (e *env) dnssecCommands() []*cobra.Command {
	return []*cobra.Command{e.signZoneCommand(), e.verifyZoneCommand()}
}

// zoneKey is the dnssec.Key of the latest version of an sm2 key in mima:
// its public key, and a Signer sending the signed data in batches.
func zoneKey(ctx context.Context, c *sdk.Client, name string) (dnssec.Key, error) {
	k, err := c.Keys().Get(ctx, name)
	if err != nil {
		return dnssec.Key{}, err
	}
	pub, err := publicKey(ctx, c, name, k.LatestVersion)
	if err != nil {
		return dnssec.Key{}, err
	}
	return dnssec.Key{Public: pub, Sign: func(ctx context.Context, msgs [][]byte) ([][]byte, error) {
		out := make([][]byte, 0, len(msgs))
		for len(msgs) > 0 {
			n := min(len(msgs), kms.MaxBatch)
			items := make([]sdk.SignRequest, n)
			for i, m := range msgs[:n] {
				items[i] = sdk.SignRequest{Input: m, Version: k.LatestVersion}
			}
			res, err := c.Crypto().SignBatch(ctx, name, items)
			if err != nil {
				return nil, err
			}
			for _, r := range res {
				if r.Error != nil {
					return nil, fmt.Errorf("%s: %s", r.Error.Code, r.Error.Message)
				}
				out = append(out, r.Signature)
			}
			msgs = msgs[n:]
		}
		return out, nil
	}}, nil
}

// readZone parses a master file.
func readZone(path string) ([]dns.RR, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rrs []dns.RR
	zp := dns.NewZoneParser(f, "", path)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rrs, nil
}

func (e *env) signZoneCommand() *cobra.Command {
	var in, out, dsOut, zsk, ksk, detached string
	var validity time.Duration
	var rfc5652, useNSEC3 bool
	var nsec3 dnssec.NSEC3
	cmd := &cobra.Command{
		Use: "sign-zone --in zone.txt --zsk K1 --ksk K2 --out signed.txt",
		Short: "Sign a zone with DNSSEC, SM2 keys in mima (RFC 9563: algorithm 17, DS digest type 6): " +
			"adds DNSKEY, RRSIG and NSEC (or --nsec3) records; writes the KSK's DS record to --ds-out; with --detached KEY also a ZONEMD record (SM3) " +
			"and a detached CMS signature of the signed zone to OUT.p7s",
		Args: cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			if detached != "" && (out == "" || out == "-") {
				return fmt.Errorf("--detached needs --out: the signature goes next to it, in OUT.p7s")
			}
			rrs, err := readZone(in)
			if err != nil {
				return err
			}
			z, err := zoneKey(ctx, c, zsk)
			if err != nil {
				return err
			}
			k, err := zoneKey(ctx, c, ksk)
			if err != nil {
				return err
			}
			start := time.Now()
			opts := dnssec.Options{Inception: start.Add(-time.Hour), Expiration: start.Add(validity), ZONEMD: detached != ""}
			if useNSEC3 {
				opts.NSEC3 = &nsec3
			}
			signed, ds, err := dnssec.SignZone(ctx, rrs, z, k, opts)
			if err != nil {
				return err
			}
			took := time.Since(start)
			f := ioFlags{out: out}
			if err := f.stream(e, func(w io.Writer) error { return writeRRs(w, signed) }); err != nil {
				return err
			}
			if detached != "" {
				text, err := os.ReadFile(out)
				if err != nil {
					return err
				}
				sig, err := c.CMS().Sign(ctx, sdk.CMSSignRequest{SignerOptions: sdk.SignerOptions{Key: detached}, Content: text, Detached: true, RFC5652: rfc5652})
				if err != nil {
					return fmt.Errorf("detached signature: %w", err)
				}
				if err := os.WriteFile(out+".p7s", sig, 0o644); err != nil {
					return err
				}
			}
			if dsOut != "" {
				if err := os.WriteFile(dsOut, []byte(ds.String()+"\n"), 0o644); err != nil {
					return err
				}
			}
			sigs := 0
			for _, rr := range signed {
				if rr.Header().Rrtype == dns.TypeRRSIG {
					sigs++
				}
			}
			fmt.Fprintf(e.errOut, "%d records in, %d signatures in %s (%.0f signatures/s)\n", len(rrs), sigs, took.Round(time.Millisecond), float64(sigs)/took.Seconds())
			return nil
		}),
	}
	cmd.Flags().StringVar(&in, "in", "", "the zone, master-file text")
	cmd.Flags().StringVar(&out, "out", "", "write the signed zone here (default: standard output)")
	cmd.Flags().StringVar(&dsOut, "ds-out", "", "write the KSK's DS record (the parent's trust anchor) here")
	cmd.Flags().StringVar(&zsk, "zsk", "", "the zone signing key: an sm2 key in mima")
	cmd.Flags().StringVar(&ksk, "ksk", "", "the key signing key: an sm2 key in mima")
	cmd.Flags().StringVar(&detached, "detached", "", "add a ZONEMD record and sign the signed zone with this sm2 key (its certificate from a mima CA) as detached CMS in OUT.p7s")
	cmd.Flags().BoolVar(&rfc5652, "rfc5652", false, "with --detached: RFC 5652 OIDs rather than GM/T 0010's, as mima cms sign --rfc5652")
	cmd.Flags().BoolVar(&useNSEC3, "nsec3", false, "an NSEC3 chain (RFC 5155, SHA-1, no opt-out) instead of NSEC")
	cmd.Flags().Uint16Var(&nsec3.Iterations, "nsec3-iterations", 0, "NSEC3 extra hash iterations (RFC 9276: 0)")
	cmd.Flags().StringVar(&nsec3.Salt, "nsec3-salt", "", "NSEC3 salt in hex (RFC 9276: none)")
	cmd.Flags().DurationVar(&validity, "validity", 30*24*time.Hour, "signatures expire this long from now (they start an hour ago)")
	for _, name := range []string{"in", "zsk", "ksk"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func (e *env) verifyZoneCommand() *cobra.Command {
	var in, anchor string
	cmd := &cobra.Command{
		Use:   "verify-zone --in signed.txt --anchor ds.txt",
		Short: "Validate a DNSSEC-signed zone (SM2SM3) from its trust anchor (DS records); exits 2 naming the first bad RRset",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			rrs, err := readZone(in)
			if err != nil {
				return err
			}
			anchorRRs, err := readZone(anchor)
			if err != nil {
				return err
			}
			var anchors []*dns.DS
			for _, rr := range anchorRRs {
				if ds, ok := rr.(*dns.DS); ok {
					anchors = append(anchors, ds)
				}
			}
			if err := dnssec.ValidateZone(rrs, anchors, time.Now()); err != nil {
				fmt.Fprintln(e.out, "invalid:", err)
				return exitError{code: 2}
			}
			fmt.Fprintln(e.out, "valid")
			return nil
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "the signed zone, master-file text")
	cmd.Flags().StringVar(&anchor, "anchor", "", "the trust anchor: DS records, master-file text")
	for _, name := range []string{"in", "anchor"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}
