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
	"github.com/mimacrypto/mima/tlcp"
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
	tlcp        tlcpFlags
}

// tlcpFlags make the client reach the server over TLCP.
type tlcpFlags struct {
	on                                 bool
	signCert, signKey, encCert, encKey string
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
	pf.StringVar(&e.caCert, "ca-cert", os.Getenv("MIMA_CACERT"), "PEM CA certificate to trust for https, TLS or TLCP (env MIMA_CACERT)")
	pf.BoolVar(&e.tlcp.on, "tlcp", os.Getenv("MIMA_TLCP") == "true", "reach the https address over TLCP (GB/T 38636) instead of TLS (env MIMA_TLCP=true)")
	for _, f := range []struct {
		p          *string
		name, help string
	}{
		{&e.tlcp.signCert, "tlcp-client-sign-cert", "TLCP client signing certificate (PEM)"},
		{&e.tlcp.signKey, "tlcp-client-sign-key", "its SM2 private key (PEM)"},
		{&e.tlcp.encCert, "tlcp-client-enc-cert", "TLCP client encryption certificate (PEM)"},
		{&e.tlcp.encKey, "tlcp-client-enc-key", "its SM2 private key (PEM)"},
	} {
		env := "MIMA_" + strings.ToUpper(strings.ReplaceAll(f.name, "-", "_"))
		pf.StringVar(f.p, f.name, os.Getenv(env), f.help+" (env "+env+")")
	}
	root.AddCommand(
		e.serverCommand(),
		e.gatewayCommand(),
		e.statusCommand(),
		e.operatorCommand(),
		e.tenantCommand(),
		e.deviceCommand(),
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
		e.v2xCommand(),
		e.reportCommand(),
		e.usageCommand(),
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
	if e.tlcp.on {
		cfg, err := e.tlcpConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, sdk.WithTLCP(cfg))
	} else if e.caCert != "" {
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

// tlcpConfig is the TLCP client configuration of the global flags.
func (e *env) tlcpConfig() (*tlcp.Config, error) {
	if !strings.HasPrefix(e.addr, "https://") {
		return nil, fmt.Errorf("--tlcp needs an https:// address, not %q", e.addr)
	}
	cfg := &tlcp.Config{}
	if e.caCert != "" {
		pool, err := tlcp.LoadCertPool(e.caCert)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	t := e.tlcp
	switch n := countSet(t.signCert, t.signKey, t.encCert, t.encKey); n {
	case 0:
	case 4:
		cert, err := tlcp.LoadCertificate(t.signCert, t.signKey, t.encCert, t.encKey)
		if err != nil {
			return nil, err
		}
		cfg.Certificate = cert
	default:
		return nil, fmt.Errorf("a TLCP client certificate needs all four of --tlcp-client-sign-cert, --tlcp-client-sign-key, --tlcp-client-enc-cert and --tlcp-client-enc-key")
	}
	return cfg, nil
}

// countSet counts the non-empty strings.
func countSet(s ...string) int {
	n := 0
	for _, v := range s {
		if v != "" {
			n++
		}
	}
	return n
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
