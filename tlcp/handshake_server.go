package tlcp

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/smx509"
)

// serverHandshakeState carries a server handshake (GB/T 38636-2020 6.4.4).
type serverHandshakeState struct {
	c       *Conn
	t       *transcript
	hello   *clientHelloMsg
	server  *serverHelloMsg
	suite   *cipherSuite
	cert    *Certificate
	master  []byte
	session *ServerSessionState
}

func (c *Conn) serverHandshake() (err error) {
	cfg := c.config
	hs := &serverHandshakeState{c: c, t: newTranscript(), cert: cfg.Certificate}
	if cfg.GetCertificate != nil {
		hs.cert = cfg.GetCertificate()
	}
	if err := hs.readClientHello(); err != nil {
		return err
	}
	if hs.session != nil {
		defer func() {
			if err != nil {
				cfg.ServerSessionCache.Put(string(hs.hello.sessionID), nil)
			}
		}()
	}
	c.setBuffering(true)
	defer c.setBuffering(false)
	if hs.session != nil {
		return hs.resume()
	}
	return hs.full()
}

// readClientHello reads the ClientHello and decides between resumption and
// a full handshake with a suite from the server's preference list.
func (hs *serverHandshakeState) readClientHello() error {
	c, cfg := hs.c, hs.c.config
	ch, err := readMsg[*clientHelloMsg](c, hs.t)
	if err != nil {
		return err
	}
	hs.hello = ch
	if ch.vers != VersionTLCP {
		return c.fail(alertProtocolVersion, fmt.Errorf("tlcp: client offered version %#04x, want %#04x", ch.vers, VersionTLCP))
	}
	if !bytes.Contains(ch.compressionMethods, []byte{0}) {
		return c.fail(alertHandshakeFailure, errors.New("tlcp: client does not offer the null compression method"))
	}
	if hs.cert == nil || hs.cert.SignKey == nil || hs.cert.EncKey == nil {
		return c.fail(alertInternalError, errors.New("tlcp: server Config needs a Certificate with SignKey and EncKey"))
	}
	random, err := newRandom(cfg)
	if err != nil {
		return c.fail(alertInternalError, err)
	}
	hs.server = &serverHelloMsg{vers: VersionTLCP, random: random}

	if s := hs.resumable(); s != nil {
		hs.session, hs.suite = s, suiteByID(s.suite)
		hs.server.sessionID = ch.sessionID
		hs.server.cipherSuite = s.suite
		return nil
	}
	// ECDHE needs the client's encryption certificate, which the client
	// sends only in answer to a CertificateRequest.
	hs.suite = selectSuite(cfg.cipherSuites(), ch.cipherSuites, func(s *cipherSuite) bool {
		return !s.ecdhe || cfg.ClientAuth != NoClientCert
	})
	if hs.suite == nil {
		return c.fail(alertHandshakeFailure, errors.New("tlcp: no cipher suite in common with the client"))
	}
	hs.server.cipherSuite = hs.suite.id
	if cfg.ServerSessionCache != nil {
		hs.server.sessionID = make([]byte, maxSessionIDLen)
		if _, err := io.ReadFull(cfg.rand(), hs.server.sessionID); err != nil {
			return c.fail(alertInternalError, fmt.Errorf("tlcp: drawing session ID: %w", err))
		}
	}
	return nil
}

// resumable returns the cached session the ClientHello asks for, if it may
// be resumed under the current configuration.
func (hs *serverHandshakeState) resumable() *ServerSessionState {
	cfg := hs.c.config
	if cfg.ServerSessionCache == nil || len(hs.hello.sessionID) == 0 {
		return nil
	}
	s, ok := cfg.ServerSessionCache.Get(string(hs.hello.sessionID))
	if !ok {
		return nil
	}
	if !fresh(s.created, cfg.time(), cfg.sessionLifetime()) {
		cfg.ServerSessionCache.Put(string(hs.hello.sessionID), nil)
		return nil
	}
	offered := selectSuite([]uint16{s.suite}, hs.hello.cipherSuites, func(*cipherSuite) bool { return true }) != nil
	enabled := selectSuite([]uint16{s.suite}, cfg.cipherSuites(), func(*cipherSuite) bool { return true }) != nil
	if !offered || !enabled {
		return nil
	}
	if cfg.ClientAuth == RequireAndVerifyClientCert && len(s.peerCerts) == 0 {
		return nil
	}
	return s
}

// resume runs the abbreviated handshake: ServerHello, then the server's
// ChangeCipherSpec and Finished first (GB/T 38636-2020 6.4.4).
func (hs *serverHandshakeState) resume() error {
	c := hs.c
	if err := c.writeHandshake(hs.server, hs.t); err != nil {
		return err
	}
	hs.master = hs.session.master
	if err := c.setPendingKeys(hs.suite, hs.master, hs.hello.random, hs.server.random); err != nil {
		return c.fail(alertInternalError, err)
	}
	if err := c.sendFinished(hs.t, hs.master); err != nil {
		return err
	}
	if err := c.readFinished(hs.t, hs.master); err != nil {
		return err
	}
	c.state = connState{
		suite: hs.suite, didResume: true,
		peerCertificates: hs.session.peerCerts, verifiedChains: hs.session.chains,
	}
	return nil
}

// full runs the full handshake after the ClientHello.
func (hs *serverHandshakeState) full() error {
	c, cfg := hs.c, hs.c.config
	if err := c.writeHandshake(hs.server, hs.t); err != nil {
		return err
	}
	if err := c.writeHandshake(&certificateMsg{certificates: hs.cert.chain()}, hs.t); err != nil {
		return err
	}
	var ecdhe ecdheServer
	var skx []byte
	var err error
	if hs.suite.ecdhe {
		skx, err = ecdhe.serverKeyExchange(cfg, hs.cert, hs.hello.random, hs.server.random)
	} else {
		skx, err = eccServerKeyExchange(cfg, hs.cert, hs.hello.random, hs.server.random)
	}
	if err != nil {
		return c.fail(alertInternalError, err)
	}
	if err := c.writeHandshake(&serverKeyExchangeMsg{key: skx}, hs.t); err != nil {
		return err
	}
	if cfg.ClientAuth != NoClientCert {
		req := &certificateRequestMsg{certificateTypes: []byte{certTypeECDSASign}}
		if cfg.ClientCAs != nil {
			// ClientCAs is a pool the application built, never a system pool,
			// so Subjects lists every CA in it (crypto/tls does the same).
			//lint:ignore SA1019 see above
			req.certificateAuthorities = cfg.ClientCAs.Subjects()
		}
		if err := c.writeHandshake(req, hs.t); err != nil {
			return err
		}
	}
	if err := c.writeHandshake(&serverHelloDoneMsg{}, hs.t); err != nil {
		return err
	}
	if err := c.flush(); err != nil {
		return err
	}

	var client *peerIdentity
	if cfg.ClientAuth != NoClientCert {
		if client, err = hs.readClientCertificate(); err != nil {
			return err
		}
	}

	ckx, err := readMsg[*clientKeyExchangeMsg](c, hs.t)
	if err != nil {
		return err
	}
	var preMaster []byte
	if hs.suite.ecdhe {
		if client == nil || client.enc == nil {
			return c.fail(alertHandshakeFailure, errors.New("tlcp: ECDHE suites need the client's encryption certificate"))
		}
		preMaster, err = ecdhe.preMaster(hs.cert, client, ckx.body)
	} else {
		preMaster, err = eccDecryptPreMaster(cfg, hs.cert, ckx.body)
	}
	if err != nil {
		return c.fail(keyExchangeAlert(err, alertHandshakeFailure), fmt.Errorf("tlcp: ClientKeyExchange: %w", err))
	}

	if client != nil {
		// CertificateVerify (GB/T 38636-2020 6.4.5.9) signs the SM3 hash of
		// the messages before it.
		digest := hs.t.sum()
		cv, err := readMsg[*certificateVerifyMsg](c, hs.t)
		if err != nil {
			return err
		}
		if err := verifySM2(client.sign, digest, cv.signature); err != nil {
			return c.fail(alertDecryptError, fmt.Errorf("tlcp: client CertificateVerify: %w", err))
		}
	}

	hs.master = masterFromPreMaster(preMaster, hs.hello.random, hs.server.random)
	if err := c.setPendingKeys(hs.suite, hs.master, hs.hello.random, hs.server.random); err != nil {
		return c.fail(alertInternalError, err)
	}
	if err := c.readFinished(hs.t, hs.master); err != nil {
		return err
	}
	if err := c.sendFinished(hs.t, hs.master); err != nil {
		return err
	}
	st := connState{suite: hs.suite}
	if client != nil {
		st.peerCertificates, st.verifiedChains = client.certs, client.chains
	}
	c.state = st
	if cfg.ServerSessionCache != nil {
		cfg.ServerSessionCache.Put(string(hs.server.sessionID), &ServerSessionState{
			suite: hs.suite.id, master: hs.master, created: cfg.time(),
			peerCerts: st.peerCertificates, chains: st.verifiedChains,
		})
	}
	return nil
}

// readClientCertificate reads the client's Certificate and verifies it;
// it returns nil when the client sent none and that is allowed.
func (hs *serverHandshakeState) readClientCertificate() (*peerIdentity, error) {
	c, cfg := hs.c, hs.c.config
	cm, err := readMsg[*certificateMsg](c, hs.t)
	if err != nil {
		return nil, err
	}
	if len(cm.certificates) == 0 {
		if cfg.ClientAuth == RequireAndVerifyClientCert {
			return nil, c.fail(alertHandshakeFailure, errors.New("tlcp: client sent no certificate"))
		}
		return nil, nil
	}
	client, a, err := parsePeerCertificates(cm.certificates, false)
	if err != nil {
		return nil, c.fail(a, err)
	}
	if err := client.checkKeyUsage(hs.suite.ecdhe); err != nil {
		return nil, c.fail(alertUnsupportedCertificate, err)
	}
	roots := cfg.ClientCAs
	if roots == nil {
		if roots, err = smx509.SystemCertPool(); err != nil {
			return nil, c.fail(alertInternalError, fmt.Errorf("tlcp: loading system roots: %w", err))
		}
	}
	if a, err := client.verify(roots, "", smx509.ExtKeyUsageClientAuth, cfg); err != nil {
		return nil, c.fail(a, err)
	}
	if a, err := client.runVerifyHook(cfg); err != nil {
		return nil, c.fail(a, err)
	}
	return client, nil
}
