package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
)

func (e *env) keyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Create, list, rotate, disable, delete and alias keys"}
	var req sdk.CreateKeyRequest
	var tags []string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a key (types: sm4, sm2, hmac-sm3)",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			req.Name = args[0]
			t, err := parseTags(tags)
			if err != nil {
				return err
			}
			req.Tags = t
			k, err := c.Keys().Create(ctx, req)
			if err != nil {
				return err
			}
			return e.printKey(k)
		}),
	}
	cf := create.Flags()
	cf.StringVar((*string)(&req.Type), "type", "sm4", "key type: sm4, sm2 or hmac-sm3")
	cf.StringVar(&req.Description, "description", "", "what the key is for")
	cf.StringArrayVar(&tags, "tag", nil, "name=value (repeatable)")
	cf.BoolVar(&req.Exportable, "exportable", false, "allow export (wrapped) and backup")
	cf.BoolVar(&req.Derived, "derived", false, "allow one-device-one-key derivation (sm4)")
	cf.StringVar(&req.AutoRotatePeriod, "auto-rotate", "", "rotate automatically this often, e.g. 720h")
	cf.StringVar(&req.Device, "device", "", "place the key on this device of the server's pool (mima device list)")

	var list sdk.ListKeysOptions
	listCmd := &cobra.Command{
		Use:   "list",
		Short: "List keys, a page at a time",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			page, err := c.Keys().List(ctx, list)
			if err != nil {
				return err
			}
			return printList(e, page.Keys, page.Next, "NAME\tTYPE\tSTATE\tVERSION\tCREATED", func(k sdk.Key) string {
				return fmt.Sprintf("%s\t%s\t%s\t%d\t%s", k.Name, k.Type, k.State, k.LatestVersion, k.CreatedAt.Format(timeLayout))
			})
		}),
	}
	lf := listCmd.Flags()
	lf.StringVar((*string)(&list.Type), "type", "", "only keys of this type")
	lf.StringVar((*string)(&list.State), "state", "", "only keys in this state: enabled, disabled, pending_deletion")
	lf.StringArrayVar(&list.Tags, "tag", nil, "only keys with tag name=value (repeatable)")
	lf.StringVar(&list.After, "after", "", "list after this name (the cursor a page prints)")
	lf.IntVar(&list.Limit, "limit", 0, "page size (default 100, at most 1000)")

	var pendingDays int
	deleteCmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Schedule a key's destruction (cancellable until then)",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			return e.printKeyOrErr(c.Keys().ScheduleDeletion(ctx, args[0], pendingDays))
		}),
	}
	deleteCmd.Flags().IntVar(&pendingDays, "pending-days", 30, "days before destruction, 7 to 30")

	var cfg sdk.KeyConfig
	configCmd := &cobra.Command{
		Use:   "config NAME",
		Short: "Set the minimum decryption (and encryption) version",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			return e.printKeyOrErr(c.Keys().Configure(ctx, args[0], cfg))
		}),
	}
	configCmd.Flags().IntVar(&cfg.MinDecryptionVersion, "min-decryption-version", 0, "oldest version that may still decrypt and verify")
	configCmd.Flags().IntVar(&cfg.MinEncryptionVersion, "min-encryption-version", 0, "oldest version that may be chosen to encrypt")

	var version int
	var allVersions bool
	public := &cobra.Command{
		Use:   "public NAME",
		Short: "Print the SM2 public key of the newest version (or --version, --all-versions) as PEM",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			get := func() (string, error) { return c.Keys().PublicKeyPEM(ctx, args[0], version) }
			if allVersions {
				get = func() (string, error) { return c.Keys().AllPublicKeysPEM(ctx, args[0]) }
			}
			pem, err := get()
			if err != nil {
				return err
			}
			return e.print(map[string]string{"pem": pem}, func(w io.Writer) { fmt.Fprint(w, pem) })
		}),
	}
	public.Flags().IntVar(&version, "version", 0, "one version (default: the newest)")
	public.Flags().BoolVar(&allVersions, "all-versions", false, "every version, oldest first, each headed by a comment naming it")
	public.MarkFlagsMutuallyExclusive("version", "all-versions")

	simple := func(use, short string, call func(sdk.KeysClient, context.Context, string) (sdk.Key, error)) *cobra.Command {
		return &cobra.Command{
			Use: use + " NAME", Short: short, Args: cobra.ExactArgs(1),
			RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
				return e.printKeyOrErr(call(c.Keys(), ctx, args[0]))
			}),
		}
	}
	var certOut ioFlags
	certificate := &cobra.Command{
		Use:   "certificate NAME",
		Short: "Print the certificate a mima CA issued for the key (PEM)",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			ct, err := c.Certs().OfKey(ctx, args[0])
			return e.emitCert(&certOut, ct, err)
		}),
	}
	certificate.Flags().StringVar(&certOut.out, "out", "", "write the certificate here (default: standard output)")
	cmd.AddCommand(e.transferCommands()...)
	cmd.AddCommand(create, listCmd, deleteCmd, configCmd, public, certificate, e.aliasCommand(),
		simple("show", "Describe a key", sdk.KeysClient.Get),
		simple("rotate", "Add a version that later encryptions use", sdk.KeysClient.Rotate),
		simple("enable", "Make a disabled key usable", sdk.KeysClient.Enable),
		simple("disable", "Make a key unusable (it stays listed)", sdk.KeysClient.Disable),
		simple("cancel-delete", "Cancel a scheduled destruction (the key stays disabled)", sdk.KeysClient.CancelDeletion),
	)
	return cmd
}

func (e *env) aliasCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "alias", Short: "Aliases (\"alias:<name>\") that can be re-pointed to other keys"}
	printAlias := func(a sdk.Alias, err error) error {
		if err != nil {
			return err
		}
		return e.print(a, func(w io.Writer) { fmt.Fprintf(w, "%s\t-> %s\n", a.Name, a.Target) })
	}
	cmd.AddCommand(&cobra.Command{
		Use: "create ALIAS KEY", Short: "Create an alias", Args: cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			return printAlias(c.Keys().CreateAlias(ctx, args[0], args[1]))
		}),
	}, &cobra.Command{
		Use: "update ALIAS KEY", Short: "Point an alias at another key", Args: cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			return printAlias(c.Keys().UpdateAlias(ctx, args[0], args[1]))
		}),
	}, &cobra.Command{
		Use: "delete ALIAS", Short: "Delete an alias (the key stays)", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			if err := c.Keys().DeleteAlias(ctx, args[0]); err != nil {
				return err
			}
			return e.print(map[string]any{"alias": args[0], "deleted": true}, func(w io.Writer) { fmt.Fprintf(w, "Deleted\t%s\n", args[0]) })
		}),
	}, e.aliasListCommand())
	return cmd
}

func (e *env) aliasListCommand() *cobra.Command {
	var after string
	var limit int
	cmd := &cobra.Command{
		Use: "list", Short: "List aliases, a page at a time", Args: cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			page, err := c.Keys().ListAliases(ctx, after, limit)
			if err != nil {
				return err
			}
			return printList(e, page.Aliases, page.Next, "ALIAS\tKEY", func(a sdk.Alias) string {
				return fmt.Sprintf("%s\t%s", a.Name, a.Target)
			})
		}),
	}
	cmd.Flags().StringVar(&after, "after", "", "list after this alias (the cursor a page prints)")
	cmd.Flags().IntVar(&limit, "limit", 0, "page size")
	return cmd
}

func parseTags(tags []string) (map[string]string, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, t := range tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return nil, fmt.Errorf("--tag %q must be name=value", t)
		}
		out[k] = v
	}
	return out, nil
}

func (e *env) printKeyOrErr(k sdk.Key, err error) error {
	if err != nil {
		return err
	}
	return e.printKey(k)
}

func (e *env) printKey(k sdk.Key) error {
	return e.print(k, func(w io.Writer) {
		fmt.Fprintf(w, "Name\t%s\n", k.Name)
		fmt.Fprintf(w, "Type\t%s\n", k.Type)
		fmt.Fprintf(w, "State\t%s\n", k.State)
		if k.Description != "" {
			fmt.Fprintf(w, "Description\t%s\n", k.Description)
		}
		for name, v := range k.Tags {
			fmt.Fprintf(w, "Tag\t%s=%s\n", name, v)
		}
		fmt.Fprintf(w, "Latest version\t%d\n", k.LatestVersion)
		if k.Type == "sm4" && len(k.Versions) > 0 {
			fmt.Fprintf(w, "Encryptions\t%d with the latest version\n", k.Versions[len(k.Versions)-1].Encryptions)
		}
		fmt.Fprintf(w, "Min decryption version\t%d\n", k.MinDecryptionVersion)
		fmt.Fprintf(w, "Exportable\t%v\n", k.Exportable)
		fmt.Fprintf(w, "Derived\t%v\n", k.Derived)
		if k.Device != "" {
			fmt.Fprintf(w, "Device\t%s\n", k.Device)
		}
		if k.AutoRotatePeriod != "" {
			fmt.Fprintf(w, "Auto-rotate\tevery %s\n", k.AutoRotatePeriod)
		}
		if k.DeletionDate != nil {
			fmt.Fprintf(w, "Destroyed on\t%s\n", k.DeletionDate.Format(timeLayout))
		}
		fmt.Fprintf(w, "Created\t%s\n", k.CreatedAt.Format(timeLayout))
	})
}
