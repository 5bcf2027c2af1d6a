// Package sdf is the Go side of libmimasdf, the GM/T 0018-2012 "SDF"
// library over mima's API: devices, sessions, internal keys mapped to mima
// keys by index, session keys, and the conversions between the standard's
// structures and mima's forms. cmd/libmimasdf exports it to C.
package sdf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
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

// Timeouts of the library's connections: dialTimeout to connect (the
// TLS or TLCP handshake then waits as long as a call), ioTimeout for
// each read and write of a call.
const (
	dialTimeout = 30 * time.Second
	ioTimeout   = time.Minute
)

// proxyOf is the proxy of a request (net/http reads the environment once
// a process, so tests replace it).
var proxyOf = http.ProxyFromEnvironment

// Client returns an SDK client for the configured server with token and
// opts. Its requests go over syncTransport, or over net/http's transport
// when the environment names a proxy for the server (HTTPS_PROXY).
func (c Config) Client(token string, opts ...sdk.Option) (*sdk.Client, error) {
	u, err := c.url()
	if err != nil {
		return nil, err
	}
	tlsCfg, tlcpCfg, err := c.security(u.Hostname())
	if err != nil {
		return nil, err
	}
	base := []sdk.Option{sdk.WithToken(token)}
	if proxy, err := proxyOf(&http.Request{URL: u}); err != nil || proxy != nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost, t.Proxy = maxIdle, proxyOf
		base = append(base, sdk.WithHTTPClient(&http.Client{Transport: t, Timeout: ioTimeout}))
		switch {
		case tlcpCfg != nil:
			base = append(base, sdk.WithTLCP(tlcpCfg))
		case tlsCfg != nil:
			base = append(base, sdk.WithTLSConfig(tlsCfg))
		}
	} else {
		base = append(base, sdk.WithHTTPClient(&http.Client{Transport: newSyncTransport(u, tlsCfg, tlcpCfg)}))
	}
	return sdk.New(u.String(), append(base, opts...)...)
}

// url is the server's address as a URL (a bare host:port is http).
func (c Config) url() (*url.URL, error) {
	addr := c.Address
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sdf: address %q must be http(s)://host:port", c.Address)
	}
	return u, nil
}

// security is the TLS or TLCP configuration of an https server named
// host (both nil for http).
func (c Config) security(host string) (*tls.Config, *tlcp.Config, error) {
	switch {
	case c.TLCP:
		cfg := &tlcp.Config{ServerName: host}
		if c.CACert != "" {
			pool, err := tlcp.LoadCertPool(c.CACert)
			if err != nil {
				return nil, nil, fmt.Errorf("sdf: %w", err)
			}
			cfg.RootCAs = pool
		}
		return nil, cfg, nil
	case c.CACert != "":
		pem, err := os.ReadFile(c.CACert)
		if err != nil {
			return nil, nil, fmt.Errorf("sdf: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("sdf: %s holds no PEM certificate", c.CACert)
		}
		return &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}, nil, nil
	case strings.HasPrefix(c.Address, "https://"):
		return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}, nil, nil
	}
	return nil, nil, nil
}

// newSyncTransport is the transport to the server at u, with the TLS or
// TLCP configuration of an https address.
func newSyncTransport(u *url.URL, tlsCfg *tls.Config, tlcpCfg *tlcp.Config) *syncTransport {
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	return &syncTransport{dial: func(ctx context.Context) (net.Conn, error) {
		raw, err := (&net.Dialer{Timeout: dialTimeout}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		conn, err := blocking(raw, ioTimeout)
		if err != nil {
			return nil, err
		}
		var sec interface {
			net.Conn
			Handshake() error
		}
		switch {
		case tlcpCfg != nil:
			sec = tlcp.Client(conn, tlcpCfg)
		case tlsCfg != nil:
			sec = tls.Client(conn, tlsCfg)
		default:
			return conn, nil
		}
		if err := sec.Handshake(); err != nil {
			_ = conn.Close()
			return nil, err
		}
		return sec, nil
	}}
}
