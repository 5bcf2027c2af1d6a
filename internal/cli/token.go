package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
)

func (e *env) tokenCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Create, list, look up and revoke tokens"}
	var req sdk.TokenRequest
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token in the caller's tenant; prints it once",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			t, err := c.Auth().CreateToken(ctx, req)
			if err != nil {
				return err
			}
			return e.print(t, func(w io.Writer) {
				fmt.Fprintf(w, "Token\t%s\n", t.Token)
				printTokenInfo(w, t.TokenInfo)
			})
		}),
	}
	create.Flags().StringSliceVar(&req.Policies, "policy", nil, "policy to grant (repeatable; \"admin\" grants everything in the tenant)")
	create.Flags().StringVar(&req.TTL, "ttl", "", "lifetime such as 1h or 720h (default 24h)")
	create.Flags().StringVar(&req.DisplayName, "display-name", "", "a name to recognise the token by")
	var increment time.Duration
	renew := &cobra.Command{
		Use:   "renew",
		Short: "Extend the calling token's life (tenant admin tokens; up to a year after creation)",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			t, err := c.Auth().RenewSelf(ctx, increment)
			if err != nil {
				return err
			}
			return e.print(t, func(w io.Writer) { printTokenInfo(w, t) })
		}),
	}
	durationFlag(renew.Flags(), &increment, "increment", 0, "new lifetime from now, such as 720h (default: the token's TTL, 30 days)")
	cmd.AddCommand(create, renew, &cobra.Command{
		Use:   "lookup [ACCESSOR]",
		Short: "Show a token by accessor, or the calling token",
		Args:  cobra.MaximumNArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			var (
				t   sdk.TokenInfo
				err error
			)
			if len(args) == 0 {
				t, err = c.Auth().LookupSelf(ctx)
			} else {
				t, err = c.Auth().LookupToken(ctx, args[0])
			}
			if err != nil {
				return err
			}
			return e.print(t, func(w io.Writer) { printTokenInfo(w, t) })
		}),
	}, e.tokenListCommand(), &cobra.Command{
		Use:   "revoke ACCESSOR",
		Short: "Revoke a token and every token it created",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			if err := c.Auth().RevokeToken(ctx, args[0]); err != nil {
				return err
			}
			return e.print(map[string]any{"accessor": args[0], "revoked": true}, func(w io.Writer) {
				fmt.Fprintf(w, "Revoked\t%s\n", args[0])
			})
		}),
	})
	return cmd
}

// tokenListCommand is "mima token list": one page, or --tree every token
// under its parent.
func (e *env) tokenListCommand() *cobra.Command {
	var (
		after string
		limit int
		tree  bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the tenant's tokens, a page or (--tree) all: live, expired and revoked (kept 30 days after they end)",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			if tree {
				var toks []sdk.TokenInfo
				for t, err := range c.Auth().AllTokens(ctx) {
					if err != nil {
						return err
					}
					toks = append(toks, t)
				}
				return e.print(itemList[sdk.TokenInfo]{Items: toks}, func(w io.Writer) {
					fmt.Fprintln(w, tokenHeader)
					printTokenTree(w, toks)
				})
			}
			page, err := c.Auth().ListTokens(ctx, after, limit)
			if err != nil {
				return err
			}
			return printList(e, page.Tokens, page.Next, tokenHeader, func(t sdk.TokenInfo) string {
				var b strings.Builder
				printTokenLine(&b, "", t)
				return strings.TrimSuffix(b.String(), "\n")
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&after, "after", "", "list after this accessor (the cursor a page prints)")
	f.IntVar(&limit, "limit", 0, "page size (default 100, at most 1000)")
	f.BoolVar(&tree, "tree", false, "list every token, each under the token that created it")
	return cmd
}

// printTokenLine prints one token of a list, its accessor after indent.
// tokenHeader heads the columns of printTokenLine.
const tokenHeader = "ACCESSOR\tSTATE\tPOLICIES\tNAME"

func printTokenLine(w io.Writer, indent string, t sdk.TokenInfo) {
	fmt.Fprintf(w, "%s%s\t%s\t%s\t%s\t%s\n", indent, t.Accessor, tokenState(t), lastUse(t), strings.Join(t.Policies, ","), t.DisplayName)
}

// lastUse says when a token last authenticated, to within the hour the
// server records it at.
func lastUse(t sdk.TokenInfo) string {
	if t.LastUsedAt.IsZero() {
		return "never used"
	}
	return "used " + t.LastUsedAt.Format(timeLayout)
}

// printTokenTree prints toks with each token indented under its parent;
// tokens whose parent is not among toks (tenant admin tokens, children of
// the root token) start a tree.
func printTokenTree(w io.Writer, toks []sdk.TokenInfo) {
	listed := map[string]bool{}
	children := map[string][]sdk.TokenInfo{}
	for _, t := range toks {
		listed[t.Accessor] = true
		children[t.Parent] = append(children[t.Parent], t)
	}
	var walk func(t sdk.TokenInfo, indent string)
	walk = func(t sdk.TokenInfo, indent string) {
		printTokenLine(w, indent, t)
		for _, c := range children[t.Accessor] {
			walk(c, indent+"  ")
		}
	}
	for _, t := range toks {
		if !listed[t.Parent] {
			walk(t, "")
		}
	}
}

func printTokenInfo(w io.Writer, t sdk.TokenInfo) {
	fmt.Fprintf(w, "Accessor\t%s\n", t.Accessor)
	if t.Root {
		fmt.Fprintf(w, "Root\ttrue\n")
	} else {
		fmt.Fprintf(w, "Tenant\t%s\n", t.Tenant)
	}
	if t.Parent != "" {
		fmt.Fprintf(w, "Parent\t%s\n", t.Parent)
	}
	fmt.Fprintf(w, "Depth\t%d\n", t.Depth)
	fmt.Fprintf(w, "Policies\t%s\n", strings.Join(t.Policies, ", "))
	if t.DisplayName != "" {
		fmt.Fprintf(w, "Display name\t%s\n", t.DisplayName)
	}
	fmt.Fprintf(w, "Created\t%s\n", t.CreatedAt.Format(timeLayout))
	if !t.ExpiresAt.IsZero() {
		fmt.Fprintf(w, "Expires\t%s\n", t.ExpiresAt.Format(timeLayout))
	}
	if !t.RenewUntil.IsZero() {
		fmt.Fprintf(w, "Renewable until\t%s\n", t.RenewUntil.Format(timeLayout))
	}
	if !t.RevokedAt.IsZero() {
		fmt.Fprintf(w, "Revoked\t%s\n", t.RevokedAt.Format(timeLayout))
	}
	if t.LastUsedAt.IsZero() {
		fmt.Fprintf(w, "Last used\tnever\n")
	} else {
		fmt.Fprintf(w, "Last used\t%s\n", t.LastUsedAt.Format(timeLayout))
	}
}

// tokenState says whether a token is live, and until when.
func tokenState(t sdk.TokenInfo) string {
	switch {
	case !t.RevokedAt.IsZero():
		return "revoked " + t.RevokedAt.Format(timeLayout)
	case t.ExpiresAt.IsZero():
		return "no expiry"
	case !time.Now().Before(t.ExpiresAt):
		return "expired " + t.ExpiresAt.Format(timeLayout)
	default:
		return "expires " + t.ExpiresAt.Format(timeLayout)
	}
}
