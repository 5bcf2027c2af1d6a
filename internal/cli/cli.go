// Package cli is mima's command tree: the server command and the client
// commands, which talk to a server through the public sdk package.
package cli

import (
	"bufio"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/mimacrypto/mima/internal/duration"
	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/tlcp"
)

// exitError carries a process exit status without further output.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs the command line and returns the process exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return (&env{in: stdin, out: stdout, errOut: stderr, term: terminalOf(stdin)}).main(args)
}

// main runs the command line with e's streams.
func (e *env) main(args []string) int {
	root := e.rootCommand()
	root.SetArgs(args)
	root.SetIn(e.in)
	root.SetOut(e.out)
	root.SetErr(e.errOut)
	ran := false
	markRun(root, &ran)
	err := root.Execute()
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case e.format == "json":
		e.printJSONError(err, ran)
		return 1
	default:
		fmt.Fprintln(e.errOut, "Error:", err)
		return 1
	}
}

// markRun makes every command of the tree set *ran when its body starts,
// so that an error can be told from a command line cobra refused.
func markRun(cmd *cobra.Command, ran *bool) {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			*ran = true
			return run(c, args)
		}
	}
	for _, c := range cmd.Commands() {
		markRun(c, ran)
	}
}

// printJSONError writes err to standard error in the API's error shape,
// {"error":{"code","message","request_id"}}: the server's code, or
// "usage" for a command line refused before the command ran,
// "unavailable" for a server that could not be reached, "cli_error" for
// any other failure of the command line.
func (e *env) printJSONError(err error, ran bool) {
	out := sdk.APIError{Code: "cli_error", Message: err.Error()}
	var se *sdk.APIError
	var ue *url.Error
	switch {
	case errors.As(err, &se):
		out = *se
	case !ran:
		out.Code = "usage"
	case errors.As(err, &ue):
		out.Code = "unavailable"
	}
	enc := json.NewEncoder(e.errOut)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]sdk.APIError{"error": out})
}

// env is what every client command shares: streams and global flags.
type env struct {
	in          io.Reader
	out, errOut io.Writer
	// term reads secrets without echo; nil when standard input is not a
	// terminal.
	term   terminal
	format string
	// formatSet is whether --format was given rather than defaulted.
	formatSet bool
	addr      string
	token     string
	tenant    string
	caCert    string
	tlcp      tlcpFlags
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
		Version:       versionLine(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if e.format != "table" && e.format != "json" {
				return fmt.Errorf("--format must be table or json")
			}
			e.formatSet = cmd.Flags().Changed("format")
			return nil
		},
	}
	root.SetVersionTemplate("mima {{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVar(&e.format, "format", "table", "output format: table or json")
	pf.StringVar(&e.addr, "address", envOr("MIMA_ADDR", "http://127.0.0.1:8200"), "server address (env MIMA_ADDR)")
	secretFlag(pf, &e.token, "token", "MIMA_TOKEN", "bearer token")
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
		e.dcasCommand(),
		e.mediaCommand(),
		e.reportCommand(),
		e.usageCommand(),
		e.versionCommand(),
		e.tsaCommand(),
		e.loginRuleCommand(),
		e.sm9Command(),
		e.dnsCommand(),
	)
	root.AddCommand(e.cryptoCommands()...)
	root.AddCommand(e.bulkCommand())
	root.AddCommand(e.dbproxyCommand())
	root.AddCommand(e.genericCommands()...)
	return root
}

// secretValue is a string flag that never shows its value: help prints
// no default for it, whatever the environment holds.
type secretValue struct{ p *string }

func (s secretValue) String() string     { return "" }
func (s secretValue) Set(v string) error { *s.p = v; return nil }
func (s secretValue) Type() string       { return "string" }

// secretFlag defines a flag for a secret (a token, a connection string
// with a password) whose default is the environment variable env, read
// now but never printed.
func secretFlag(fs *pflag.FlagSet, p *string, name, env, help string) {
	*p = os.Getenv(env)
	fs.Var(secretValue{p}, name, help+" (env "+env+")")
}

// durationFlag defines a duration flag that also takes days ("30d").
func durationFlag(fs *pflag.FlagSet, p *time.Duration, name string, def time.Duration, help string) {
	*p = def
	fs.Var(duration.Value{D: p}, name, help)
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

// itemList is the JSON shape of every list command: the items and the
// cursor of the next page (absent on the last).
type itemList[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// printList prints items as {"items":[...],"next":...} with --format json,
// else as a table: header, then one row per item, then the cursor.
func printList[T any](e *env, items []T, next, header string, row func(T) string) error {
	if items == nil {
		items = []T{}
	}
	return e.print(itemList[T]{Items: items, Next: next}, func(w io.Writer) {
		fmt.Fprintln(w, header)
		for _, it := range items {
			fmt.Fprintln(w, row(it))
		}
		if next != "" {
			fmt.Fprintf(w, "\nmore: --after %s\n", next)
		}
	})
}

// readSecret returns args[0] or, when absent, a line read from standard
// input, so that secrets need not appear in shell history: without echo
// from a terminal, as is from a pipe or a file.
func (e *env) readSecret(args []string, what string) (string, error) {
	if len(args) > 0 {
		return args[0], nil
	}
	fmt.Fprintf(e.errOut, "%s: ", what)
	if e.term != nil {
		b, err := e.term.ReadPassword()
		fmt.Fprintln(e.errOut)
		if err != nil {
			return "", fmt.Errorf("reading %s from the terminal: %w", what, err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(e.in).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reading %s from standard input: %w", what, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// readNewSecret is readSecret for a secret being set, a new password: from
// a terminal it is asked twice, since a typo nobody saw would lock the
// data away.
func (e *env) readNewSecret(what string) (string, error) {
	first, err := e.readSecret(nil, what)
	if err != nil || e.term == nil {
		return first, err
	}
	again, err := e.readSecret(nil, what+" again")
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(first), []byte(again)) != 1 {
		return "", errors.New("the two entries differ; nothing was done")
	}
	return first, nil
}

// terminal reads a line without echo.
type terminal interface{ ReadPassword() ([]byte, error) }

// fdTerminal is the terminal on a file descriptor.
type fdTerminal int

// ReadPassword reads a line from the terminal without echo.
func (t fdTerminal) ReadPassword() ([]byte, error) { return term.ReadPassword(int(t)) }

// terminalOf is the terminal r is, or nil when r is a pipe or a file.
func terminalOf(r io.Reader) terminal {
	if f, ok := r.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return fdTerminal(f.Fd())
	}
	return nil
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
