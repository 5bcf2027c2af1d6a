package tlcp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/tlcptest"
)

// The benchmarks measure TLCP and, for comparison, crypto/tls (TLS 1.3,
// ECDSA P-256 certificate, ECDHE P-256, AES-128-GCM) the same way: full
// handshakes over net.Pipe, and bulk transfer of 16 KiB writes over
// loopback TCP.

// tlsPair returns matching crypto/tls configurations.
func tlsPair(b testing.TB) (s, c *tls.Config) {
	b.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := leafTemplateX509("server.test")
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	s = &tls.Config{
		Certificates:           []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:             tls.VersionTLS13,
		CurvePreferences:       []tls.CurveID{tls.CurveP256},
		SessionTicketsDisabled: true,
	}
	c = &tls.Config{RootCAs: pool, ServerName: "server.test", MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.CurveP256}}
	return s, c
}

func leafTemplateX509(name string) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: tlcptest.Name(name), DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true, IsCA: true,
	}
}

// handshaker is what the benchmarks need from *Conn and *tls.Conn.
type handshaker interface {
	net.Conn
	Handshake() error
}

func benchHandshakes(b *testing.B, server, client func(net.Conn) handshaker) {
	b.ReportAllocs()
	for b.Loop() {
		cp, sp := net.Pipe()
		errc := make(chan error, 1)
		go func() { errc <- server(sp).Handshake() }()
		if err := client(cp).Handshake(); err != nil {
			b.Fatal(err)
		}
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		cp.Close()
		sp.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}

func BenchmarkHandshake(b *testing.B) {
	f := pki(b)
	for _, suite := range defaultCipherSuites {
		b.Run(CipherSuiteName(suite), func(b *testing.B) {
			scfg, ccfg := f.serverConfig(), f.clientConfig()
			ccfg.CipherSuites = []uint16{suite}
			if suiteByID(suite).ecdhe {
				scfg.ClientAuth, ccfg.Certificate = RequireAndVerifyClientCert, f.client
			}
			benchHandshakes(b,
				func(c net.Conn) handshaker { return Server(c, scfg) },
				func(c net.Conn) handshaker { return Client(c, ccfg) })
		})
	}
	b.Run("TLS1.3_ECDSA-P256_AES-128-GCM", func(b *testing.B) {
		scfg, ccfg := tlsPair(b)
		benchHandshakes(b,
			func(c net.Conn) handshaker { return tls.Server(c, scfg) },
			func(c net.Conn) handshaker { return tls.Client(c, ccfg) })
	})
}

// benchThroughput streams 16 KiB writes from client to server over
// loopback TCP.
func benchThroughput(b *testing.B, server, client func(net.Conn) handshaker) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		s := server(raw)
		_, err = io.Copy(io.Discard, s)
		s.Close()
		done <- err
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	c := client(raw)
	if err := c.Handshake(); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 16<<10)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	c.Close()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

func BenchmarkThroughput(b *testing.B) {
	f := pki(b)
	for _, suite := range []uint16{ECC_SM4_GCM_SM3, ECC_SM4_CBC_SM3} {
		b.Run(CipherSuiteName(suite), func(b *testing.B) {
			scfg, ccfg := f.serverConfig(), f.clientConfig()
			ccfg.CipherSuites = []uint16{suite}
			benchThroughput(b,
				func(c net.Conn) handshaker { return Server(c, scfg) },
				func(c net.Conn) handshaker { return Client(c, ccfg) })
		})
	}
	b.Run("TLS1.3_AES-128-GCM", func(b *testing.B) {
		scfg, ccfg := tlsPair(b)
		benchThroughput(b,
			func(c net.Conn) handshaker { return tls.Server(c, scfg) },
			func(c net.Conn) handshaker { return tls.Client(c, ccfg) })
	})
}
