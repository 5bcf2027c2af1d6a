package server

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/mimacrypto/mima/internal/api"
	"github.com/mimacrypto/mima/internal/crlcheck"
	"github.com/mimacrypto/mima/internal/filewatch"
	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/tlcp"
)

// endpoint is one listener of the API and the URL clients use for it.
type endpoint struct {
	ln   net.Listener
	url  string
	tlcp bool // the endpoint speaks TLCP (and perhaps TLS too)
}

// listen opens the API's endpoints: listen_addr over HTTP, or HTTPS with
// tls_cert_file; and, with tlcp_addr, a TLCP endpoint, which shares the
// port with HTTPS when tlcp_addr equals listen_addr (each connection's
// ClientHello version tells TLCP from TLS).
func listen(cfg Config) ([]endpoint, error) {
	tlsConfig, err := loadTLS(cfg)
	if err != nil {
		return nil, err
	}
	tlcpConfig, err := loadTLCP(cfg)
	if err != nil {
		return nil, err
	}
	main, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err)
	}
	switch {
	case tlcpConfig != nil && cfg.TLCPAddr == cfg.ListenAddr:
		return []endpoint{{ln: tlcp.NewSniffingListener(main, tlcpConfig, tlsConfig), url: "https://" + main.Addr().String(), tlcp: true}}, nil
	case tlsConfig != nil:
		main = tls.NewListener(main, tlsConfig)
	}
	eps := []endpoint{{ln: main, url: scheme(tlsConfig != nil) + main.Addr().String()}}
	if tlcpConfig != nil {
		ln, err := tlcp.Listen("tcp", cfg.TLCPAddr, tlcpConfig)
		if err != nil {
			_ = main.Close()
			return nil, fmt.Errorf("listen on %s: %w", cfg.TLCPAddr, err)
		}
		eps = append([]endpoint{{ln: ln, url: "https://" + ln.Addr().String(), tlcp: true}}, eps...)
	}
	return eps, nil
}

// scheme is the URL scheme of the API with or without TLS.
func scheme(tls bool) string {
	if tls {
		return "https://"
	}
	return "http://"
}

// loadTLS reads the HTTPS certificate, or returns nil without one.
func loadTLS(cfg Config) (*tls.Config, error) {
	if cfg.TLSCertFile == "" {
		return nil, nil
	}
	certs, err := filewatch.New(func() (*tls.Certificate, error) {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		return &cert, err
	}, cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls_cert_file: %w", err)
	}
	return &tls.Config{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return certs.Get(), nil },
		MinVersion:     tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"},
	}, nil
}

// loadTLCP reads the TLCP dual certificate and client policy, or returns
// nil without tlcp_addr.
func loadTLCP(cfg Config) (*tlcp.Config, error) {
	if cfg.TLCPAddr == "" {
		return nil, nil
	}
	certs, err := WatchTLCPCertificate(cfg.TLCPSignCert, cfg.TLCPSignKey, cfg.TLCPEncCert, cfg.TLCPEncKey)
	if err != nil {
		return nil, fmt.Errorf("tlcp certificates: %w", err)
	}
	c := &tlcp.Config{GetCertificate: certs.Get, ServerSessionCache: tlcp.NewLRUServerSessionCache(tlcpSessions)}
	if cfg.TLCPClientCA != "" {
		if c.ClientCAs, err = tlcp.LoadCertPool(cfg.TLCPClientCA); err != nil {
			return nil, fmt.Errorf("tlcp_client_ca: %w", err)
		}
	}
	if len(cfg.TLCPClientCRLs) > 0 {
		crls, err := crlcheck.New(cfg.TLCPClientCRLs...)
		if err != nil {
			return nil, fmt.Errorf("tlcp_client_crls: %w", err)
		}
		c.VerifyPeerCertificate = crls.Verify
	}
	switch cfg.TLCPClientAuth {
	case "request":
		c.ClientAuth = tlcp.RequestClientCert
	case "require":
		c.ClientAuth = tlcp.RequireAndVerifyClientCert
	}
	return c, nil
}

// WatchTLCPCertificate reads a dual certificate from its four PEM files,
// and again whenever one of them changes (see filewatch), so that a server
// takes renewed certificates without a restart.
func WatchTLCPCertificate(signCert, signKey, encCert, encKey string) (*filewatch.Value[*tlcp.Certificate], error) {
	return filewatch.New(func() (*tlcp.Certificate, error) {
		return tlcp.LoadCertificate(signCert, signKey, encCert, encKey)
	}, signCert, signKey, encCert, encKey)
}

// tlcpSessions is how many TLCP sessions the server keeps for resumption.
const tlcpSessions = 10000

// deployment is the seal type and the listeners that health reports, as
// cfg configures them (listen follows the same rules).
func (c Config) deployment() api.Deployment {
	d := api.Deployment{Seal: sdk.SealShares}
	switch {
	case c.UnsealKEKFile != "":
		d.Seal = sdk.SealKEK
	case c.Seal.Type != "":
		d.Seal = c.Seal.Type
	}
	main := sdk.Listener{Addr: c.ListenAddr, Protocol: sdk.ProtocolHTTP}
	if c.TLSCertFile != "" {
		main.Protocol = sdk.ProtocolTLS
	}
	switch {
	case c.TLCPAddr == "":
		d.Listeners = []sdk.Listener{main}
	case c.TLCPAddr == c.ListenAddr:
		main.Protocol = sdk.ProtocolTLSTLCP
		d.Listeners = []sdk.Listener{main}
	default:
		d.Listeners = []sdk.Listener{main, {Addr: c.TLCPAddr, Protocol: sdk.ProtocolTLCP}}
	}
	return d
}
