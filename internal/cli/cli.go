// Package cli is mima's command tree: the server command and the client
// commands, which talk to a server through the public sdk package.
package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
)

// exitError carries a process exit status without further output.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs the command line and returns the process exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{in: stdin, out: stdout, errOut: stderr}
	root := e.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	default:
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
}

// env is what every client command shares: streams and global flags.
type env struct {
	in          io.Reader
	out, errOut io.Writer
	format      string
	addr        string
	token       string
	tenant      string
	caCert      string
}

func (e *env) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "mima",
		Short:         "mima: a ShangMi (SM2/SM3/SM4) cryptographic service",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if e.format != "table" && e.format != "json" {
				return fmt.Errorf("--format must be table or json")
			}
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&e.format, "format", "table", "output format: table or json")
	pf.StringVar(&e.addr, "address", envOr("MIMA_ADDR", "http://127.0.0.1:8200"), "server address (env MIMA_ADDR)")
	pf.StringVar(&e.token, "token", os.Getenv("MIMA_TOKEN"), "bearer token (env MIMA_TOKEN)")
	pf.StringVar(&e.tenant, "tenant", os.Getenv("MIMA_TENANT"), "tenant the root token acts in (env MIMA_TENANT)")
	pf.StringVar(&e.caCert, "ca-cert", os.Getenv("MIMA_CACERT"), "PEM CA certificate to trust for https (env MIMA_CACERT)")
	root.AddCommand(
		e.serverCommand(),
		e.statusCommand(),
		e.operatorCommand(),
		e.tenantCommand(),
		e.tokenCommand(),
		e.policyCommand(),
		e.auditCommand(),
		e.benchCommand(),
		e.keyCommand(),
		e.caCommand(),
		e.certCommand(),
		e.cmsCommand(),
		e.tsCommand(),
		e.loginCommand(),
	)
	root.AddCommand(e.cryptoCommands()...)
	return root
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// client returns an SDK client from the global flags.
func (e *env) client() (*sdk.Client, error) {
	opts := []sdk.Option{sdk.WithToken(e.token), sdk.WithTenant(e.tenant)}
	if e.caCert != "" {
		pem, err := os.ReadFile(e.caCert)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", e.caCert)
		}
		opts = append(opts, sdk.WithTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	}
	return sdk.New(e.addr, opts...)
}

// print writes v as indented JSON with --format json, or calls table.
func (e *env) print(v any, table func(w io.Writer)) error {
	if e.format == "json" || table == nil {
		enc := json.NewEncoder(e.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// readSecret returns args[0] or, when absent, one line of standard input,
// so that secrets need not appear in shell history.
func (e *env) readSecret(args []string, what string) (string, error) {
	if len(args) > 0 {
		return args[0], nil
	}
	fmt.Fprintf(e.errOut, "%s: ", what)
	line, err := bufio.NewReader(e.in).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reading %s from standard input: %w", what, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// clientRun adapts a command body that needs a client to cobra's RunE.
func (e *env) clientRun(fn func(ctx context.Context, c *sdk.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := e.client()
		if err != nil {
			return err
		}
		return fn(cmd.Context(), c, args)
	}
}
