// Package sdf is the Go side of libmimasdf, the GM/T 0018-2012 "SDF"
// library over mima's API: devices, sessions, internal keys mapped to mima
// keys by index, session keys, and the conversions between the standard's
// structures and mima's forms. cmd/libmimasdf exports it to C.
package sdf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/tlcp"
)

// Config is the library's configuration: the JSON file named by
// MIMA_SDF_CONFIG, with MIMA_ADDR and MIMA_TOKEN overriding its address
// and token when set.
type Config struct {
	// Address is the server, "https://host:port" or "http://host:port".
	Address string `json:"address"`
	// Token is the bearer token of every call that has no access right of
	// its own (SDF_GetPrivateKeyAccessRight).
	Token string `json:"token"`
	// CACert is a PEM file of the CA that issued the server's certificate.
	CACert string `json:"ca_cert,omitempty"`
	// TLCP reaches an https address over TLCP (GB/T 38636) instead of TLS.
	TLCP bool `json:"tlcp,omitempty"`
	// Keys maps key indexes ("1") to mima key names.
	Keys map[string]string `json:"keys"`
	// Tenants are the PKCS#11 module's slots, one a tenant (slot i is
	// Tenants[i]); none means one slot, the tenant "default".
	Tenants []string `json:"tenants,omitempty"`
}

// LoadConfig reads the configuration from the environment (getenv).
func LoadConfig(getenv func(string) string) (Config, error) {
	var c Config
	if file := getenv("MIMA_SDF_CONFIG"); file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return Config{}, fmt.Errorf("sdf: reading MIMA_SDF_CONFIG: %w", err)
		}
		if err := json.Unmarshal(b, &c); err != nil {
			return Config{}, fmt.Errorf("sdf: %s: %w", file, err)
		}
	}
	if v := getenv("MIMA_ADDR"); v != "" {
		c.Address = v
	}
	if v := getenv("MIMA_TOKEN"); v != "" {
		c.Token = v
	}
	if c.Address == "" {
		return Config{}, fmt.Errorf("sdf: no server address: set MIMA_ADDR or address in MIMA_SDF_CONFIG")
	}
	for k := range c.Keys {
		if n, err := strconv.ParseUint(k, 10, 32); err != nil || n == 0 {
			return Config{}, fmt.Errorf("sdf: key index %q is not a number from 1", k)
		}
	}
	if c.TLCP && !strings.HasPrefix(c.Address, "https://") {
		return Config{}, fmt.Errorf("sdf: tlcp needs an https:// address, not %q", c.Address)
	}
	return c, nil
}

// keyName is the mima key of index i.
func (c Config) keyName(i uint32) (string, bool) {
	name, ok := c.Keys[strconv.FormatUint(uint64(i), 10)]
	return name, ok
}

// Client returns an SDK client for the configured server with token and
// opts.
func (c Config) Client(token string, opts ...sdk.Option) (*sdk.Client, error) {
	// Many threads share a device: keep enough idle connections for them
	// (the default transport keeps two per host).
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	opts = append([]sdk.Option{sdk.WithToken(token), sdk.WithHTTPClient(&http.Client{Transport: t, Timeout: time.Minute})}, opts...)
	switch {
	case c.TLCP:
		cfg := &tlcp.Config{}
		if c.CACert != "" {
			pool, err := tlcp.LoadCertPool(c.CACert)
			if err != nil {
				return nil, fmt.Errorf("sdf: %w", err)
			}
			cfg.RootCAs = pool
		}
		opts = append(opts, sdk.WithTLCP(cfg))
	case c.CACert != "":
		pem, err := os.ReadFile(c.CACert)
		if err != nil {
			return nil, fmt.Errorf("sdf: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("sdf: %s holds no PEM certificate", c.CACert)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return sdk.New(c.Address, opts...)
}
