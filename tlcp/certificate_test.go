package tlcp

import (
	"crypto"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/mimacrypto/mima/internal/tlcptest"
)

// TestPeerCertificateChecks covers the server's dual certificates as the
// client checks them, and the client's certificates as the server checks
// them.
func TestPeerCertificateChecks(t *testing.T) {
	f := pki(t)
	other := tlcptest.NewCA(t, "Other SM2 Root")
	swapped := &Certificate{
		SignCertificate: f.server.EncCertificate, SignKey: f.server.EncKey.(crypto.Signer),
		EncCertificate: f.server.SignCertificate, EncKey: f.server.SignKey,
	}
	expired := dual(t, f.ca, "server.test", func(sign, enc *smx509.Certificate) {
		sign.NotBefore, sign.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	})
	noKeyEncipherment := dual(t, f.ca, "server.test", func(sign, enc *smx509.Certificate) {
		enc.KeyUsage = smx509.KeyUsageKeyAgreement | smx509.KeyUsageDataEncipherment
	})
	noKeyAgreement := dual(t, f.ca, "server.test", func(sign, enc *smx509.Certificate) {
		enc.KeyUsage = smx509.KeyUsageKeyEncipherment
	})
	expiredClient := dual(t, f.ca, "client.test", func(sign, enc *smx509.Certificate) {
		sign.NotBefore, sign.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	})
	revoke := func(serial string) func([][]byte, [][]*smx509.Certificate) error {
		return func(raw [][]byte, chains [][]*smx509.Certificate) error {
			if len(chains) == 0 || len(raw) < 2 {
				return errors.New("hook called without chains")
			}
			if chains[0][0].SerialNumber.String() == serial {
				return fmt.Errorf("serial %s is on the CRL: %w", serial, ErrCertificateRevoked)
			}
			return nil
		}
	}
	serverSignSerial := mustParse(t, f.server.SignCertificate).SerialNumber.String()
	clientSignSerial := mustParse(t, f.client.SignCertificate).SerialNumber.String()

	tests := []struct {
		name      string
		edit      func(s, c *Config)
		failing   string // side whose check fails: "client" or "server"
		alert     AlertError
		errSubstr string
	}{
		{"encryption certificate first", func(s, c *Config) { s.Certificate = swapped }, "client", alertUnsupportedCertificate, "wrong order"},
		{"expired signing certificate", func(s, c *Config) { s.Certificate = expired }, "client", alertCertificateExpired, "expired"},
		{"client clock after expiry", func(s, c *Config) { c.Time = func() time.Time { return time.Now().Add(48 * time.Hour) } }, "client", alertCertificateExpired, "expired"},
		{"revoked server certificate", func(s, c *Config) { c.VerifyPeerCertificate = revoke(serverSignSerial) }, "client", alertCertificateRevoked, "on the CRL"},
		{"ECC encryption certificate without keyEncipherment", func(s, c *Config) { s.Certificate = noKeyEncipherment }, "client", alertUnsupportedCertificate, "keyEncipherment"},
		{"ECDHE encryption certificate without keyAgreement", func(s, c *Config) {
			s.Certificate, s.ClientAuth = noKeyAgreement, RequireAndVerifyClientCert
			c.Certificate, c.CipherSuites = f.client, []uint16{ECDHE_SM4_GCM_SM3}
		}, "client", alertUnsupportedCertificate, "keyAgreement"},
		{"wrong host name", func(s, c *Config) { c.ServerName = "other.test" }, "client", alertBadCertificate, "other.test"},
		{"unknown CA", func(s, c *Config) { c.RootCAs = other.Pool }, "client", alertUnknownCA, "unknown authority"},
		{"client without certificate", func(s, c *Config) { s.ClientAuth = RequireAndVerifyClientCert }, "server", alertHandshakeFailure, "no certificate"},
		{"expired client certificate", func(s, c *Config) {
			s.ClientAuth, c.Certificate = RequireAndVerifyClientCert, expiredClient
		}, "server", alertCertificateExpired, "expired"},
		{"revoked client certificate", func(s, c *Config) {
			s.ClientAuth, c.Certificate = RequestClientCert, f.client
			s.VerifyPeerCertificate = revoke(clientSignSerial)
		}, "server", alertCertificateRevoked, "on the CRL"},
		{"ECDHE without client certificate", func(s, c *Config) {
			s.ClientAuth, c.CipherSuites = RequestClientCert, []uint16{ECDHE_SM4_CBC_SM3}
		}, "client", alertHandshakeFailure, "ECDHE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scfg, ccfg := f.serverConfig(), f.clientConfig()
			tt.edit(scfg, ccfg)
			p := connectPair(t, scfg, ccfg)
			local, remote := p.clientErr, p.serverErr
			if tt.failing == "server" {
				local, remote = remote, local
			}
			if local == nil || !isAlert(local, tt.alert) || !strings.Contains(local.Error(), tt.errSubstr) {
				t.Fatalf("%s error = %v, want alert %v and %q", tt.failing, local, tt.alert, tt.errSubstr)
			}
			var ra *RemoteAlertError
			if !errors.As(remote, &ra) || ra.Alert != tt.alert {
				t.Fatalf("peer error = %v, want remote alert %v", remote, tt.alert)
			}
		})
	}
}

func mustParse(t testing.TB, der []byte) *smx509.Certificate {
	t.Helper()
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
