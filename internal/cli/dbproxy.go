//go:build cgo

package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/internal/dbproxy"
	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/sdk/fieldcrypt"
)

// dbproxyCommand is "mima dbproxy": transparent column encryption for
// PostgreSQL clients (docs/dbproxy.md).
func (e *env) dbproxyCommand() *cobra.Command {
	var listen, upstream, rulesFile, certFile, keyFile string
	cmd := &cobra.Command{
		Use:   "dbproxy --listen ADDR --upstream postgres://HOST:PORT --rules rules.yaml",
		Short: "PostgreSQL proxy that encrypts protected columns on the way in and decrypts or masks them by role on the way out",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			if listen == "" || upstream == "" {
				return errors.New("--listen and --upstream are required")
			}
			b, err := os.ReadFile(rulesFile)
			if err != nil {
				return err
			}
			rules, err := dbproxy.ParseRules(b)
			if err != nil {
				return err
			}
			up, err := dbproxy.ParseUpstream(upstream)
			if err != nil {
				return err
			}
			ks := fieldcrypt.ClientKeys(c)
			if err := rules.CheckKeys(ctx, ks); err != nil {
				return err
			}
			p := &dbproxy.Proxy{Rules: rules, Codec: fieldcrypt.New(ks, fieldcrypt.Limits{}, nil), Upstream: up,
				TokenRoles: e.tokenPolicies, Logger: slog.New(slog.NewTextHandler(e.errOut, nil))}
			if (certFile == "") != (keyFile == "") {
				return errors.New("--tls-cert and --tls-key go together")
			}
			if certFile != "" {
				cert, err := tls.LoadX509KeyPair(certFile, keyFile)
				if err != nil {
					return err
				}
				p.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
			fmt.Fprintf(e.out, "mima dbproxy: %d protected columns, forwarding to %s\n", len(rules.Columns), up.Addr)
			fmt.Fprintf(e.out, "mima dbproxy listening on %s\n", ln.Addr())
			return p.Serve(ctx, ln)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "", "address to accept PostgreSQL clients on")
	f.StringVar(&upstream, "upstream", "", "the PostgreSQL server: its host, port and sslmode (clients log in with their own credentials)")
	f.StringVar(&rulesFile, "rules", "rules.yaml", "the column rules")
	f.StringVar(&certFile, "tls-cert", "", "PEM certificate offered to clients that ask for TLS")
	f.StringVar(&keyFile, "tls-key", "", "PEM key of --tls-cert")
	return cmd
}

// tokenPolicies are the policies of a client's mima token: its roles in
// the proxy's rules.
func (e *env) tokenPolicies(ctx context.Context, token string) ([]string, error) {
	as := *e
	as.token = token
	c, err := as.client()
	if err != nil {
		return nil, err
	}
	info, err := c.Auth().LookupSelf(ctx)
	if err != nil {
		return nil, err
	}
	return info.Policies, nil
}
