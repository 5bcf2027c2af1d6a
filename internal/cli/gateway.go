package cli

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/crlcheck"
	"github.com/mimacrypto/mima/internal/gateway"
	"github.com/mimacrypto/mima/internal/server"
	"github.com/mimacrypto/mima/internal/settings"
	"github.com/mimacrypto/mima/tlcp"
)

// gatewayConfig is the configuration of `mima gateway`; docs/tlcp.md
// describes each field.
type gatewayConfig struct {
	Mode             string        `yaml:"mode"`
	Listen           string        `yaml:"listen"`
	Forward          string        `yaml:"forward"`
	SignCert         string        `yaml:"sign_cert"`
	SignKey          string        `yaml:"sign_key"`
	EncCert          string        `yaml:"enc_cert"`
	EncKey           string        `yaml:"enc_key"`
	CA               string        `yaml:"ca"`
	ClientAuth       string        `yaml:"client_auth"`
	TLSCert          string        `yaml:"tls_cert"`
	TLSKey           string        `yaml:"tls_key"`
	TLSClientCA      string        `yaml:"tls_client_ca"`
	AllowSubjects    []string      `yaml:"allow_subjects"`
	CRLs             []string      `yaml:"crls"`
	ServerName       string        `yaml:"server_name"`
	ECDHEParams      string        `yaml:"ecdhe_client_params"`
	AuditDir         string        `yaml:"audit_dir"`
	MetricsAddr      string        `yaml:"metrics_addr"`
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
	ShutdownGrace    time.Duration `yaml:"shutdown_grace"`
	IdleTimeout      time.Duration `yaml:"idle_timeout"`
}

func gatewayDefaults() gatewayConfig {
	return gatewayConfig{Mode: "tcp", AuditDir: "./mima-gateway-audit", HandshakeTimeout: 10 * time.Second, ShutdownGrace: 30 * time.Second, IdleTimeout: 10 * time.Minute}
}

var gatewayTable = settings.Table[gatewayConfig]{EnvPrefix: "MIMA_GATEWAY_", Fields: []settings.Field[gatewayConfig]{
	settings.F("mode", "mode", "tcp (TLCP in, TCP out), http (TLCP in, HTTP reverse proxy) or client (TCP in, TLCP out)", func(c *gatewayConfig) any { return &c.Mode }),
	settings.F("listen", "listen", "address to accept connections on", func(c *gatewayConfig) any { return &c.Listen }),
	settings.F("forward", "forward", "where connections go: host:port, or an http(s) URL in the http mode", func(c *gatewayConfig) any { return &c.Forward }),
	settings.F("sign_cert", "sign-cert", "PEM TLCP signing certificate (intermediates may follow); in the client mode, the client's", func(c *gatewayConfig) any { return &c.SignCert }),
	settings.F("sign_key", "sign-key", "PEM SM2 key of the signing certificate", func(c *gatewayConfig) any { return &c.SignKey }),
	settings.F("enc_cert", "enc-cert", "PEM TLCP encryption certificate", func(c *gatewayConfig) any { return &c.EncCert }),
	settings.F("enc_key", "enc-key", "PEM SM2 key of the encryption certificate", func(c *gatewayConfig) any { return &c.EncKey }),
	settings.F("ca", "ca", "PEM CA certificates: of clients (tcp, http) or of the server (client mode; default: system pool)", func(c *gatewayConfig) any { return &c.CA }),
	settings.F("client_auth", "client-auth", "none, request or require (default: require with --ca, else none)", func(c *gatewayConfig) any { return &c.ClientAuth }),
	settings.F("tls_cert", "tls-cert", "tcp mode: PEM TLS certificate; with it the port also accepts TLS clients (dual-algorithm acceptance)", func(c *gatewayConfig) any { return &c.TLSCert }),
	settings.F("tls_key", "tls-key", "PEM key of the TLS certificate", func(c *gatewayConfig) any { return &c.TLSKey }),
	settings.F("tls_client_ca", "tls-client-ca", "PEM CA certificates TLS clients' certificates must chain to (client_auth applies to TLS clients too)", func(c *gatewayConfig) any { return &c.TLSClientCA }),
	settings.F("allow_subjects", "allow-subject", `admit only peers whose certificate subject holds all of these attributes, e.g. "CN=app,O=Hospital"`, func(c *gatewayConfig) any { return &c.AllowSubjects }),
	settings.F("crls", "crl", "CRL files (DER or PEM) that peer certificates are checked against; re-read when they change", func(c *gatewayConfig) any { return &c.CRLs }),
	settings.F("server_name", "server-name", "client mode: the name the server's certificate must carry (default: the forward host)", func(c *gatewayConfig) any { return &c.ServerName }),
	settings.F("ecdhe_client_params", "ecdhe-client-params", "client mode: plain (default: ECParameters || ECPoint, as Tongsuo servers expect) or prefixed (inside opaque<1..2^16-1>, as GB/T 38636-2020 6.4.5.8 writes it)", func(c *gatewayConfig) any { return &c.ECDHEParams }),
	settings.F("audit_dir", "audit-dir", "directory of the per-connection audit log", func(c *gatewayConfig) any { return &c.AuditDir }),
	settings.F("metrics_addr", "metrics-addr", "serve Prometheus metrics at /metrics on this address (empty: off)", func(c *gatewayConfig) any { return &c.MetricsAddr }),
	settings.F("handshake_timeout", "handshake-timeout", "time allowed for the TLCP handshake and the dial of the forward address", func(c *gatewayConfig) any { return &c.HandshakeTimeout }),
	settings.F("shutdown_grace", "shutdown-grace", "at SIGTERM, time open connections get before they are closed", func(c *gatewayConfig) any { return &c.ShutdownGrace }),
	settings.F("idle_timeout", "idle-timeout", "tcp and client modes: close a connection on which no data has moved for this long (0: never)", func(c *gatewayConfig) any { return &c.IdleTimeout }),
}}

func (e *env) gatewayCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gateway --listen A --forward B --sign-cert F --sign-key F --enc-cert F --enc-key F",
		Short: "TLCP gateway: SM transport encryption in front of a TCP or HTTP service, or for legacy clients",
		Long: "mima gateway terminates TLCP (GB/T 38636) on --listen and forwards plain TCP (--mode tcp) or\n" +
			"HTTP (--mode http) to --forward; --mode client accepts plain TCP and forwards over TLCP.\n" +
			"Every connection gets an audit record before data passes. See docs/tlcp.md.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := gatewayDefaults()
			if err := gatewayTable.Load(cmd.Flags(), os.Getenv, &cfg); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return e.runGateway(ctx, cfg)
		},
	}
	scratch := gatewayDefaults()
	gatewayTable.Bind(cmd.Flags(), &scratch)
	return cmd
}

// runGateway assembles the gateway, its audit log and metrics, and serves
// until ctx ends.
func (e *env) runGateway(ctx context.Context, cfg gatewayConfig) error {
	if cfg.Listen == "" || cfg.Forward == "" {
		return errors.New("--listen and --forward are required")
	}
	tc, err := cfg.tlcp()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(e.errOut, nil))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	sink, err := audit.OpenFileSink(cfg.AuditDir)
	if err != nil {
		return err
	}
	defer sink.Close()
	auditor, err := newGatewayAudit(sink, tc.Certificate, log)
	if err != nil {
		return err
	}
	defer auditor.Close()
	tlsConfig, err := cfg.tls(tc.ClientAuth)
	if err != nil {
		return err
	}
	g, err := gateway.New(gateway.Config{
		Mode: gateway.Mode(cfg.Mode), Forward: cfg.Forward, TLCP: tc, TLS: tlsConfig, AllowedSubjects: cfg.AllowSubjects,
		HandshakeTimeout: cfg.HandshakeTimeout, ShutdownGrace: cfg.ShutdownGrace, IdleTimeout: cfg.IdleTimeout,
	}, gateway.WithAuditor(auditor), gateway.WithLogger(log), gateway.WithRegisterer(reg))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.out, "mima %s gateway: %s mode, forwarding to %s, audit log in %s\n", server.Version, cfg.Mode, cfg.Forward, cfg.AuditDir)
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("metrics: %w", err)
		}
		fmt.Fprintf(e.out, "mima %s gateway metrics on http://%s/metrics\n", server.Version, mln.Addr())
		go serveMetrics(ctx, mln, reg, log)
	}
	fmt.Fprintf(e.out, "mima %s gateway listening on %s\n", server.Version, ln.Addr())
	return g.Serve(ctx, ln)
}

// tlcp is the gateway's TLCP configuration.
func (c gatewayConfig) tlcp() (*tlcp.Config, error) {
	tc := &tlcp.Config{ServerName: c.ServerName}
	switch n := countSet(c.SignCert, c.SignKey, c.EncCert, c.EncKey); {
	case n == 4:
		// Accepting TLCP, the gateway takes new certificate files while
		// it runs; the first certificate also signs audit checkpoints.
		certs, err := server.WatchTLCPCertificate(c.SignCert, c.SignKey, c.EncCert, c.EncKey)
		if err != nil {
			return nil, err
		}
		tc.Certificate, tc.GetCertificate = certs.Get(), certs.Get
	case n > 0 || c.Mode != string(gateway.Client):
		return nil, errors.New("--sign-cert, --sign-key, --enc-cert and --enc-key are needed together (in the client mode, for servers that ask for a client certificate)")
	}
	var pool *smx509.CertPool
	if c.CA != "" {
		p, err := tlcp.LoadCertPool(c.CA)
		if err != nil {
			return nil, err
		}
		pool = p
	}
	if len(c.CRLs) > 0 {
		crls, err := crlcheck.New(c.CRLs...)
		if err != nil {
			return nil, err
		}
		tc.VerifyPeerCertificate = crls.Verify
	}
	switch c.ECDHEParams {
	case "", "plain":
	case "prefixed":
		tc.ECDHEPrefixedClientParams = true
	default:
		return nil, fmt.Errorf("ecdhe_client_params is plain or prefixed, not %q", c.ECDHEParams)
	}
	if c.Mode == string(gateway.Client) {
		tc.RootCAs = pool
		return tc, nil
	}
	tc.ClientCAs = pool
	tc.ServerSessionCache = tlcp.NewLRUServerSessionCache(10000)
	auth := c.ClientAuth
	if auth == "" && pool != nil {
		auth = "require"
	}
	switch auth {
	case "", "none":
	case "request":
		tc.ClientAuth = tlcp.RequestClientCert
	case "require":
		tc.ClientAuth = tlcp.RequireAndVerifyClientCert
	default:
		return nil, fmt.Errorf("--client-auth must be none, request or require, not %q", auth)
	}
	if tc.ClientAuth != tlcp.NoClientCert && pool == nil {
		return nil, errors.New("client certificates need --ca")
	}
	return tc, nil
}

// tls is the configuration for TLS clients on the TLCP port, or nil when
// no TLS certificate is set. TLS clients face the same client
// authentication as TLCP ones (auth), against tls_client_ca.
func (c gatewayConfig) tls(auth tlcp.ClientAuthType) (*tls.Config, error) {
	if c.TLSCert == "" && c.TLSKey == "" {
		if c.TLSClientCA != "" {
			return nil, errors.New("--tls-client-ca needs --tls-cert and --tls-key")
		}
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.TLSClientCA != "" {
		pem, err := os.ReadFile(c.TLSClientCA)
		if err != nil {
			return nil, err
		}
		tc.ClientCAs = x509.NewCertPool()
		if !tc.ClientCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", c.TLSClientCA)
		}
	}
	switch auth {
	case tlcp.RequestClientCert:
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	case tlcp.RequireAndVerifyClientCert:
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if tc.ClientAuth != tls.NoClientCert && tc.ClientCAs == nil {
		return nil, errors.New("client certificates of TLS clients need --tls-client-ca")
	}
	return tc, nil
}

// newGatewayAudit starts the per-connection audit log. Checkpoints are
// signed with the TLCP signing key when there is one.
func newGatewayAudit(sink audit.Sink, cert *tlcp.Certificate, log *slog.Logger) (*audit.Logger, error) {
	l, err := audit.New(sink, audit.WithErrorHandler(func(err error) { log.Error("gateway: audit checkpoint failed", "error", err) }))
	if err != nil {
		return nil, err
	}
	if cert == nil {
		log.Warn("gateway: no signing key, so audit checkpoints are not signed; the hash chain still holds")
		return l, nil
	}
	hmacKey := make([]byte, 32) // no sensitive fields are recorded; the key is only required
	if _, err := rand.Read(hmacKey); err != nil {
		l.Close()
		return nil, err
	}
	if err := l.SetKeys(hmacKey, cert.SignKey); err != nil {
		l.Close()
		return nil, err
	}
	if leaf, err := smx509.ParseCertificate(cert.SignCertificate); err == nil {
		log.Info("gateway: audit checkpoints signed with the TLCP signing key", "public_key", base64.StdEncoding.EncodeToString(leaf.RawSubjectPublicKeyInfo))
	}
	return l, nil
}

// serveMetrics serves reg at /metrics on ln until ctx ends.
func serveMetrics(ctx context.Context, ln net.Listener, reg *prometheus.Registry, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
	defer stop()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("gateway: metrics server", "error", err)
	}
}
