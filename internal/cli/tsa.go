package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
)

func (e *env) tsaCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "tsa", Short: "Timestamp authorities (RFC 3161) of the tenant"}
	var req sdk.TSARequest
	var s subjectFlags
	create := &cobra.Command{
		Use:   "create NAME --ca CA",
		Short: "Create a TSA whose certificate CA issues; the TSA named default serves `ts request` and `cms sign --tsa default`",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			req.Name, req.Subject = args[0], s.subject
			if req.Subject.CommonName == "" {
				req.Subject.CommonName = args[0] + " TSA"
			}
			t, err := c.TSA().Create(ctx, req)
			if err != nil {
				return err
			}
			return e.printTSA(t)
		}),
	}
	s.bind(create, false)
	f := create.Flags()
	f.StringVar(&req.CA, "ca", "", "the CA that certifies the TSA")
	f.StringVar(&req.Policy, "policy", "", "TSA policy OID (default: mima's)")
	f.StringVar(&req.Accuracy, "accuracy", "", "accuracy of the time, e.g. 1s or 10ms (default 1s)")
	f.StringVar(&req.CertIDHash, "cert-id-hash", "", "hash of the ESSCertID: sm3 (default) or sha256")
	f.StringVar(&req.TTL, "ttl", "", "validity of the TSA certificate, e.g. 365d")
	_ = create.MarkFlagRequired("ca")

	list := &cobra.Command{
		Use: "list", Short: "List the tenant's TSAs", Args: cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			ts, err := c.TSA().List(ctx)
			if err != nil {
				return err
			}
			return printList(e, ts, "", "NAME\tCA\tACCURACY\tCREATED", func(t sdk.TSA) string {
				return fmt.Sprintf("%s\t%s\t%s\t%s", t.Name, t.CA, t.Accuracy, t.CreatedAt.Format(timeLayout))
			})
		}),
	}
	chain := &cobra.Command{
		Use: "chain NAME", Short: "Print a TSA's certificate chain (PEM)", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			pem, err := c.TSA().Chain(ctx, args[0])
			if err != nil {
				return err
			}
			return e.print(map[string]string{"pem": pem}, func(w io.Writer) { fmt.Fprint(w, pem) })
		}),
	}
	cmd.AddCommand(create, list, chain)
	return cmd
}

func (e *env) printTSA(t sdk.TSA) error {
	return e.print(t, func(w io.Writer) {
		fmt.Fprintf(w, "Name\t%s\n", t.Name)
		fmt.Fprintf(w, "CA\t%s\n", t.CA)
		fmt.Fprintf(w, "Key\t%s\n", t.Key)
		fmt.Fprintf(w, "Policy\t%s\n", t.Policy)
		fmt.Fprintf(w, "Accuracy\t%s\n", t.Accuracy)
		fmt.Fprintf(w, "Created\t%s\n", t.CreatedAt.Format(timeLayout))
	})
}

func (e *env) loginRuleCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "login-rule", Short: "Rules that let certificate holders log in (`mima login`)"}
	var r sdk.LoginRule
	write := &cobra.Command{
		Use:   "write NAME --pattern GLOB --policy P",
		Short: "Create or replace a login rule: a certificate whose subject (or an e-mail or DNS name) matches the pattern logs in with the policies",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			r.Name = args[0]
			out, err := c.Auth().PutLoginRule(ctx, r)
			if err != nil {
				return err
			}
			return e.printLoginRule(out)
		}),
	}
	f := write.Flags()
	f.StringVar(&r.Match, "match", "subject", "what the pattern matches: subject (RFC 2253, e.g. CN=alice,O=Acme), san_email, san_dns, or sm9 (the SM9 identity of --kgc)")
	f.StringVar(&r.Pattern, "pattern", "", "glob pattern, e.g. 'CN=nurse-*'")
	f.StringVar(&r.CA, "ca", "", "only certificates of this mima CA (default: any CA of the tenant)")
	f.StringVar(&r.KGC, "kgc", "", "with --match sm9: the signature KGC whose identities log in")
	f.StringSliceVar(&r.Policies, "policy", nil, "policy of the tokens (repeatable)")
	f.StringVar(&r.TTL, "ttl", "", "lifetime of the tokens, e.g. 8h")
	_ = write.MarkFlagRequired("pattern")
	_ = write.MarkFlagRequired("policy")
	read := &cobra.Command{
		Use: "read NAME", Short: "Show a login rule", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			out, err := c.Auth().GetLoginRule(ctx, args[0])
			if err != nil {
				return err
			}
			return e.printLoginRule(out)
		}),
	}
	list := &cobra.Command{
		Use: "list", Short: "List the tenant's login rules", Args: cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			rs, err := c.Auth().ListLoginRules(ctx)
			if err != nil {
				return err
			}
			return printList(e, rs, "", "NAME\tMATCH\tPATTERN\tCA\tPOLICIES", func(r sdk.LoginRule) string {
				return fmt.Sprintf("%s\t%s\t%s\t%s\t%v", r.Name, r.Match, r.Pattern, r.CA, r.Policies)
			})
		}),
	}
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a login rule; the tokens logged in through it are revoked", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			if err := c.Auth().DeleteLoginRule(ctx, args[0]); err != nil {
				return err
			}
			return e.print(map[string]any{"rule": args[0], "deleted": true}, func(w io.Writer) { fmt.Fprintf(w, "Deleted\t%s\n", args[0]) })
		}),
	}
	cmd.AddCommand(write, read, list, del)
	return cmd
}

func (e *env) printLoginRule(r sdk.LoginRule) error {
	return e.print(r, func(w io.Writer) {
		fmt.Fprintf(w, "Name\t%s\n", r.Name)
		fmt.Fprintf(w, "Match\t%s\n", r.Match)
		fmt.Fprintf(w, "Pattern\t%s\n", r.Pattern)
		fmt.Fprintf(w, "CA\t%s\n", r.CA)
		fmt.Fprintf(w, "Policies\t%v\n", r.Policies)
		if r.TTL != "" {
			fmt.Fprintf(w, "TTL\t%s\n", r.TTL)
		}
	})
}
