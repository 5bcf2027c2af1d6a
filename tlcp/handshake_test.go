package tlcp

import (
	"bytes"
	"io"
	"testing"
)

// exchange sends msg both ways and checks it arrives intact.
func exchange(t *testing.T, p *pair, msg []byte) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(p.server, buf); err != nil {
			errc <- err
			return
		}
		_, err := p.server.Write(buf)
		errc <- err
	}()
	if _, err := p.client.Write(msg); err != nil {
		t.Fatalf("client write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(p.client, got); err != nil {
		t.Fatalf("client read: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server echo: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("echoed data differs")
	}
}

func TestHandshakeAllSuites(t *testing.T) {
	f := pki(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 5000) // spans several records
	tests := []struct {
		suite      uint16
		clientAuth ClientAuthType
		clientCert bool
	}{
		{ECC_SM4_CBC_SM3, NoClientCert, false},
		{ECC_SM4_GCM_SM3, NoClientCert, false},
		{ECC_SM4_CBC_SM3, RequireAndVerifyClientCert, true},
		{ECC_SM4_GCM_SM3, RequestClientCert, true},
		{ECC_SM4_CBC_SM3, RequestClientCert, false},
		{ECDHE_SM4_CBC_SM3, RequireAndVerifyClientCert, true},
		{ECDHE_SM4_GCM_SM3, RequireAndVerifyClientCert, true},
		{ECDHE_SM4_GCM_SM3, RequestClientCert, true},
	}
	for _, tt := range tests {
		name := CipherSuiteName(tt.suite)
		if tt.clientCert {
			name += "/client-cert"
		}
		t.Run(name, func(t *testing.T) {
			scfg, ccfg := f.serverConfig(), f.clientConfig()
			scfg.ClientAuth = tt.clientAuth
			ccfg.CipherSuites = []uint16{tt.suite}
			if tt.clientCert {
				ccfg.Certificate = f.client
			}
			p := mustConnect(t, scfg, ccfg)
			cs, ss := p.client.ConnectionState(), p.server.ConnectionState()
			if cs.CipherSuite != tt.suite || ss.CipherSuite != tt.suite || cs.Version != VersionTLCP {
				t.Fatalf("suite %x/%x version %x, want %x", cs.CipherSuite, ss.CipherSuite, cs.Version, tt.suite)
			}
			if len(cs.PeerCertificates) != 2 || !bytes.Equal(cs.PeerCertificates[0].Raw, f.server.SignCertificate) ||
				!bytes.Equal(cs.PeerCertificates[1].Raw, f.server.EncCertificate) || len(cs.VerifiedChains) == 0 {
				t.Fatal("client did not record the server's signing then encryption certificate")
			}
			if got := len(ss.PeerCertificates) > 0; got != tt.clientCert {
				t.Fatalf("server has client certificates = %v, want %v", got, tt.clientCert)
			}
			exchange(t, p, []byte("hello TLCP"))
			exchange(t, p, big)
		})
	}
}
