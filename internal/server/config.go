package server

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/cms"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/settings"
	"github.com/spf13/pflag"
)

// Config is the server configuration. Every field can be set in the YAML
// config file (by its yaml key), by the environment variable MIMA_<KEY in
// upper case> and by a command-line flag; flags win over the environment,
// which wins over the file. docs/configuration.md describes each field.
type Config struct {
	ListenAddr              string        `yaml:"listen_addr"`
	TLSCertFile             string        `yaml:"tls_cert_file"`
	TLSKeyFile              string        `yaml:"tls_key_file"`
	TLCPAddr                string        `yaml:"tlcp_addr"`
	TLCPSignCert            string        `yaml:"tlcp_sign_cert"`
	TLCPSignKey             string        `yaml:"tlcp_sign_key"`
	TLCPEncCert             string        `yaml:"tlcp_enc_cert"`
	TLCPEncKey              string        `yaml:"tlcp_enc_key"`
	TLCPClientCA            string        `yaml:"tlcp_client_ca"`
	TLCPClientAuth          string        `yaml:"tlcp_client_auth"`
	TLCPClientCRLs          []string      `yaml:"tlcp_client_crls"`
	Storage                 string        `yaml:"storage"`
	DataDir                 string        `yaml:"data_dir"`
	PostgresDSN             string        `yaml:"postgres_dsn"`
	PostgresMaxConns        int64         `yaml:"postgres_max_conns"`
	NodeID                  string        `yaml:"node_id"`
	CacheRecheckInterval    time.Duration `yaml:"cache_recheck_interval"`
	AuditDir                string        `yaml:"audit_dir"`
	UnsealKEKFile           string        `yaml:"unseal_kek_file"`
	MaxRequestBytes         int64         `yaml:"max_request_bytes"`
	ReadTimeout             time.Duration `yaml:"read_timeout"`
	WriteTimeout            time.Duration `yaml:"write_timeout"`
	ShutdownTimeout         time.Duration `yaml:"shutdown_timeout"`
	AuditCheckpointRecords  uint64        `yaml:"audit_checkpoint_records"`
	AuditCheckpointInterval time.Duration `yaml:"audit_checkpoint_interval"`
	AuditWitnesses          []string      `yaml:"audit_witnesses"`
	AuditSegmentMaxBytes    int64         `yaml:"audit_segment_max_bytes"`
	AuditSegmentMaxAge      time.Duration `yaml:"audit_segment_max_age"`
	AuditArchiveDir         string        `yaml:"audit_archive_dir"`
	AuditArchiveCommand     string        `yaml:"audit_archive_command"`
	AuditRetention          time.Duration `yaml:"audit_retention"`
	AuditExport             AuditExport   `yaml:"audit_export"`
	JobsInterval            time.Duration `yaml:"jobs_interval"`
	PublicRateLimit         int64         `yaml:"public_rate_limit"`
	PublicRateBurst         int64         `yaml:"public_rate_burst"`
	TrustedProxies          []string      `yaml:"trusted_proxies"`
	LoginChallenges         int64         `yaml:"login_challenges_per_tenant"`
	AuditRefusalInterval    time.Duration `yaml:"audit_refusal_interval"`
	NonceLimit              uint64        `yaml:"nonce_limit"`
	DeviceHealthInterval    time.Duration `yaml:"device_health_interval"`
	PprofAddr               string        `yaml:"pprof_addr"`
	LogLevel                string        `yaml:"log_level"`
	LogFormat               string        `yaml:"log_format"`

	// Devices and Seal are set in the file only (devices.go).
	Devices []DeviceConfig `yaml:"devices"`
	Seal    SealConfig     `yaml:"seal"`

	// Dev and DevRootToken are flags only: they select the development
	// server, which keeps everything in memory.
	Dev          bool   `yaml:"-"`
	DevRootToken string `yaml:"-"`
}

// Defaults returns the configuration used where nothing else is set.
func Defaults() Config {
	return Config{
		ListenAddr:              "127.0.0.1:8200",
		TLCPClientAuth:          "none",
		Storage:                 "bolt",
		DataDir:                 "./mima-data",
		MaxRequestBytes:         4 << 20,
		ReadTimeout:             30 * time.Second,
		WriteTimeout:            60 * time.Second,
		ShutdownTimeout:         30 * time.Second,
		AuditCheckpointRecords:  1000,
		AuditCheckpointInterval: time.Minute,
		AuditSegmentMaxBytes:    audit.DefaultSegmentMaxBytes,
		AuditSegmentMaxAge:      audit.DefaultSegmentMaxAge,
		JobsInterval:            time.Minute,
		NonceLimit:              kms.DefaultNonceLimit,
		DeviceHealthInterval:    30 * time.Second,
		CacheRecheckInterval:    30 * time.Second,
		PostgresMaxConns:        16,
		PublicRateLimit:         20,
		PublicRateBurst:         40,
		LoginChallenges:         cms.DefaultChallengesPerTenant,
		AuditRefusalInterval:    time.Minute,
		LogLevel:                "info",
		LogFormat:               "text",
	}
}

// table lists every Config field with its yaml key, flag and help.
var table = settings.Table[Config]{EnvPrefix: "MIMA_", Fields: []settings.Field[Config]{
	settings.F("listen_addr", "addr", "address to serve the API on", func(c *Config) any { return &c.ListenAddr }),
	settings.F("tls_cert_file", "tls-cert-file", "PEM certificate chain for HTTPS (plain HTTP when empty)", func(c *Config) any { return &c.TLSCertFile }),
	settings.F("tls_key_file", "tls-key-file", "PEM private key for HTTPS", func(c *Config) any { return &c.TLSKeyFile }),
	settings.F("tlcp_addr", "tlcp-addr", "also serve the API over TLCP (GB/T 38636) here; equal to listen_addr: TLS and TLCP on one port", func(c *Config) any { return &c.TLCPAddr }),
	settings.F("tlcp_sign_cert", "tlcp-sign-cert", "PEM TLCP signing certificate (intermediates may follow)", func(c *Config) any { return &c.TLCPSignCert }),
	settings.F("tlcp_sign_key", "tlcp-sign-key", "PEM SM2 private key of the TLCP signing certificate", func(c *Config) any { return &c.TLCPSignKey }),
	settings.F("tlcp_enc_cert", "tlcp-enc-cert", "PEM TLCP encryption certificate", func(c *Config) any { return &c.TLCPEncCert }),
	settings.F("tlcp_enc_key", "tlcp-enc-key", "PEM SM2 private key of the TLCP encryption certificate", func(c *Config) any { return &c.TLCPEncKey }),
	settings.F("tlcp_client_ca", "tlcp-client-ca", "PEM CA certificates that TLCP client certificates must chain to", func(c *Config) any { return &c.TLCPClientCA }),
	settings.F("tlcp_client_auth", "tlcp-client-auth", "TLCP client certificates: none, request (verified when sent; enables ECDHE) or require", func(c *Config) any { return &c.TLCPClientAuth }),
	settings.F("tlcp_client_crls", "tlcp-client-crl", "CRL files (DER or PEM) that TLCP client certificates are checked against; re-read when they change", func(c *Config) any { return &c.TLCPClientCRLs }),
	settings.F("storage", "storage", "storage backend: bolt, inmem or postgres", func(c *Config) any { return &c.Storage }),
	settings.F("data_dir", "data-dir", "directory of the bolt store and, by default, the audit log", func(c *Config) any { return &c.DataDir }),
	settings.F("postgres_dsn", "postgres-dsn", "PostgreSQL connection string for the postgres storage (shared by the nodes of a cluster)", func(c *Config) any { return &c.PostgresDSN }),
	settings.F("postgres_max_conns", "postgres-max-conns", "PostgreSQL connection pool size per node", func(c *Config) any { return &c.PostgresMaxConns }),
	settings.F("node_id", "node-id", "this node's name in a cluster, unique per node (default: the host name)", func(c *Config) any { return &c.NodeID }),
	settings.F("cache_recheck_interval", "cache-recheck-interval", "in a cluster, drop every cache this often in case a change notice was missed", func(c *Config) any { return &c.CacheRecheckInterval }),
	settings.F("audit_dir", "audit-dir", "directory of the audit log (default <data_dir>/audit)", func(c *Config) any { return &c.AuditDir }),
	settings.F("unseal_kek_file", "unseal-kek-file", "file with a 32-hex-digit KEK for unattended unseal (weaker than key shares)", func(c *Config) any { return &c.UnsealKEKFile }),
	settings.F("max_request_bytes", "max-request-bytes", "largest accepted request body", func(c *Config) any { return &c.MaxRequestBytes }),
	settings.F("read_timeout", "read-timeout", "time allowed to read a request", func(c *Config) any { return &c.ReadTimeout }),
	settings.F("write_timeout", "write-timeout", "time allowed to write a response", func(c *Config) any { return &c.WriteTimeout }),
	settings.F("shutdown_timeout", "shutdown-timeout", "time in-flight requests get to finish at shutdown", func(c *Config) any { return &c.ShutdownTimeout }),
	settings.F("audit_checkpoint_records", "audit-checkpoint-records", "sign an audit checkpoint after this many records", func(c *Config) any { return &c.AuditCheckpointRecords }),
	settings.F("audit_checkpoint_interval", "audit-checkpoint-interval", "sign an audit checkpoint at least this often when there are new records", func(c *Config) any { return &c.AuditCheckpointInterval }),
	settings.F("audit_witnesses", "audit-witness", "also send every audit checkpoint here: an absolute file path, an http(s) URL, syslog: or syslog+udp://host:port (repeatable)", func(c *Config) any { return &c.AuditWitnesses }),
	settings.F("audit_segment_max_bytes", "audit-segment-max-bytes", "seal the active audit segment at the next checkpoint once it holds this many bytes", func(c *Config) any { return &c.AuditSegmentMaxBytes }),
	settings.F("audit_segment_max_age", "audit-segment-max-age", "seal the active audit segment at the next checkpoint once its first record is this old", func(c *Config) any { return &c.AuditSegmentMaxAge }),
	settings.F("audit_archive_dir", "audit-archive-dir", "copy every sealed audit segment to this directory (another disk) and verify the copy", func(c *Config) any { return &c.AuditArchiveDir }),
	settings.F("audit_archive_command", "audit-archive-command", "hand every sealed audit segment to this shell command instead (%p: its path, %f: its name in the archive); exit 0 means archived", func(c *Config) any { return &c.AuditArchiveCommand }),
	settings.F("audit_retention", "audit-retention", "remove archived audit segments from the audit directory once their last record is this old (0: keep them)", func(c *Config) any { return &c.AuditRetention }),
	settings.F("audit_export_type", "audit-export-type", "stream audit records to a SIEM: syslog or http (audit_export.type in the file)", func(c *Config) any { return &c.AuditExport.Type }),
	settings.F("audit_export_address", "audit-export-address", "where to: tcp://host:port or unix:///path for syslog, a URL for http (audit_export.address in the file)", func(c *Config) any { return &c.AuditExport.Address }),
	settings.F("jobs_interval", "jobs-interval", "how often due key destructions and automatic rotations run", func(c *Config) any { return &c.JobsInterval }),
	settings.F("public_rate_limit", "public-rate-limit", "requests a second each client may make to the public routes (0: no limit)", func(c *Config) any { return &c.PublicRateLimit }),
	settings.F("public_rate_burst", "public-rate-burst", "requests each client may make at once to the public routes", func(c *Config) any { return &c.PublicRateBurst }),
	settings.F("trusted_proxies", "trusted-proxy", "addresses or CIDR prefixes of proxies whose X-Forwarded-For names the client", func(c *Config) any { return &c.TrustedProxies }),
	settings.F("login_challenges_per_tenant", "login-challenges-per-tenant", "login challenges that may wait for an answer in one tenant", func(c *Config) any { return &c.LoginChallenges }),
	settings.F("audit_refusal_interval", "audit-refusal-interval", "record refused public requests of one kind once per interval, with a count of the others (0: each one)", func(c *Config) any { return &c.AuditRefusalInterval }),
	settings.F("nonce_limit", "nonce-limit", "SM4-GCM encryptions one key version makes before the key rotates (at most 2^32)", func(c *Config) any { return &c.NonceLimit }),
	settings.F("device_health_interval", "device-health-interval", "how often each crypto device of the pool runs its known-answer health check", func(c *Config) any { return &c.DeviceHealthInterval }),
	settings.F("pprof_addr", "pprof-addr", "serve Go's pprof profiles on this address (loopback only; empty: off)", func(c *Config) any { return &c.PprofAddr }),
	settings.F("log_level", "log-level", "debug, info, warn or error", func(c *Config) any { return &c.LogLevel }),
	settings.F("log_format", "log-format", "text or json", func(c *Config) any { return &c.LogFormat }),
}}

// EnvName is the environment variable of a config key.
func EnvName(key string) string { return table.EnvName(key) }

// BindFlags registers a flag for every config field, plus --config, --dev
// and --dev-root-token, on fs. The flags write into a scratch Config; Load
// applies only the flags the user set.
func BindFlags(fs *pflag.FlagSet) *Config {
	scratch := Defaults()
	table.Bind(fs, &scratch)
	fs.Lookup("config").Usage = "YAML configuration file (production mode; starts sealed)"
	fs.BoolVar(&scratch.Dev, "dev", false, "development server: in-memory store, initialised and unsealed, prints a root token")
	fs.StringVar(&scratch.DevRootToken, "dev-root-token", "", "fix the development server's root token")
	return &scratch
}

// Load builds the configuration from defaults, the file named by --config,
// the environment and the flags set on fs.
func Load(fs *pflag.FlagSet, getenv func(string) string) (Config, error) {
	cfg := Defaults()
	if err := table.Load(fs, getenv, &cfg); err != nil {
		return Config{}, err
	}
	cfg.Dev, _ = fs.GetBool("dev")
	cfg.DevRootToken, _ = fs.GetString("dev-root-token")
	if cfg.Dev {
		if fl := fs.Lookup("storage"); fl == nil || !fl.Changed {
			cfg.Storage = "inmem"
		}
	}
	return cfg, cfg.validate()
}

func (c Config) validate() error {
	switch c.Storage {
	case "inmem", "bolt":
	case "postgres":
		if c.PostgresDSN == "" {
			return fmt.Errorf("postgres_dsn is required with the postgres store")
		}
		if c.AuditDir != "" {
			return fmt.Errorf("with the postgres store the audit chains are kept in PostgreSQL; audit_dir does not apply")
		}
	default:
		return fmt.Errorf("storage must be bolt, inmem or postgres, not %q", c.Storage)
	}
	if c.CacheRecheckInterval <= 0 {
		return fmt.Errorf("cache_recheck_interval must be positive")
	}
	if c.Storage == "bolt" && c.DataDir == "" {
		return fmt.Errorf("data_dir is required with the bolt store")
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return fmt.Errorf("tls_cert_file and tls_key_file must be given together")
	}
	if err := c.validateTLCP(); err != nil {
		return err
	}
	if c.JobsInterval <= 0 || c.AuditCheckpointInterval <= 0 {
		return fmt.Errorf("jobs_interval and audit_checkpoint_interval must be positive")
	}
	if c.AuditSegmentMaxBytes <= 0 || c.AuditSegmentMaxAge <= 0 {
		return fmt.Errorf("audit_segment_max_bytes and audit_segment_max_age must be positive")
	}
	if err := c.validateAuditArchive(); err != nil {
		return err
	}
	if c.NonceLimit < 1 || c.NonceLimit > kms.MaxNonceLimit {
		return fmt.Errorf("nonce_limit must be 1 to %d (2^32), not %d", uint64(kms.MaxNonceLimit), c.NonceLimit)
	}
	if c.MaxRequestBytes <= 0 {
		return fmt.Errorf("max_request_bytes must be positive")
	}
	if err := c.validateAbuse(); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("log_level must be debug, info, warn or error, not %q", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("log_format must be text or json, not %q", c.LogFormat)
	}
	if c.Dev && c.UnsealKEKFile != "" {
		return fmt.Errorf("the development server unseals itself; unseal_kek_file does not apply")
	}
	return c.validateDevices()
}

func (c Config) validateTLCP() error {
	files := []string{c.TLCPSignCert, c.TLCPSignKey, c.TLCPEncCert, c.TLCPEncKey}
	given := 0
	for _, f := range files {
		if f != "" {
			given++
		}
	}
	switch {
	case c.TLCPAddr == "" && (given > 0 || c.TLCPClientCA != ""):
		return fmt.Errorf("the tlcp_ certificate settings need tlcp_addr")
	case c.TLCPAddr == "":
		return nil
	case given != len(files):
		return fmt.Errorf("tlcp_addr needs tlcp_sign_cert, tlcp_sign_key, tlcp_enc_cert and tlcp_enc_key")
	case c.TLCPAddr == c.ListenAddr && c.TLSCertFile == "":
		return fmt.Errorf("serving TLS and TLCP on one port (tlcp_addr equal to listen_addr) needs tls_cert_file and tls_key_file")
	}
	switch c.TLCPClientAuth {
	case "none":
		if len(c.TLCPClientCRLs) > 0 {
			return fmt.Errorf("tlcp_client_crls need tlcp_client_auth request or require")
		}
	case "request", "require":
		if c.TLCPClientCA == "" {
			return fmt.Errorf("tlcp_client_auth %s needs tlcp_client_ca", c.TLCPClientAuth)
		}
	default:
		return fmt.Errorf("tlcp_client_auth must be none, request or require, not %q", c.TLCPClientAuth)
	}
	return nil
}

// validateAbuse checks the limits on public routes.
func (c Config) validateAbuse() error {
	if c.PublicRateLimit < 0 || (c.PublicRateLimit > 0 && c.PublicRateBurst < 1) {
		return fmt.Errorf("public_rate_limit must be 0 (off) or positive with a positive public_rate_burst")
	}
	if c.LoginChallenges < 1 {
		return fmt.Errorf("login_challenges_per_tenant must be positive")
	}
	if c.AuditRefusalInterval < 0 {
		return fmt.Errorf("audit_refusal_interval must not be negative")
	}
	_, err := c.trustedProxies()
	return err
}

// trustedProxies parses TrustedProxies; an address is a prefix of itself.
func (c Config) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range c.TrustedProxies {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return nil, fmt.Errorf("trusted_proxies: %q is neither an address nor a CIDR prefix", p)
			}
			prefix = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, prefix.Masked())
	}
	return out, nil
}
