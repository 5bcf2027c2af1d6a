package tlcp

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/smx509"
)

// clientHandshakeState carries a client handshake (GB/T 38636-2020 6.4.4).
type clientHandshakeState struct {
	c        *Conn
	t        *transcript
	hello    *clientHelloMsg
	server   *serverHelloMsg
	suite    *cipherSuite
	master   []byte
	session  *ClientSessionState
	cacheKey string
}

func (c *Conn) clientHandshake() (err error) {
	cfg := c.config
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		return errors.New("tlcp: Config.ServerName or InsecureSkipVerify must be set")
	}
	hs := &clientHandshakeState{c: c, t: newTranscript()}
	if err := hs.makeHello(); err != nil {
		return err
	}
	if hs.session != nil {
		defer func() {
			if err != nil {
				// A session whose connection hit a fatal error must not be
				// resumed again (GB/T 38636-2020 6.4.5.2.1).
				cfg.ClientSessionCache.Put(hs.cacheKey, nil)
			}
		}()
	}
	c.setBuffering(true)
	defer c.setBuffering(false)
	if err := c.writeHandshake(hs.hello, hs.t); err != nil {
		return err
	}
	if err := c.flush(); err != nil {
		return err
	}
	if err := hs.readServerHello(); err != nil {
		return err
	}
	if hs.session != nil && len(hs.server.sessionID) > 0 && bytes.Equal(hs.server.sessionID, hs.session.sessionID) {
		return hs.resume()
	}
	return hs.full()
}

// makeHello builds the ClientHello, offering a cached session if any.
func (hs *clientHandshakeState) makeHello() error {
	cfg := hs.c.config
	random, err := newRandom(cfg)
	if err != nil {
		return err
	}
	hs.hello = &clientHelloMsg{
		vers:               VersionTLCP,
		random:             random,
		compressionMethods: []uint8{0},
	}
	for _, id := range cfg.cipherSuites() {
		if suiteByID(id) != nil {
			hs.hello.cipherSuites = append(hs.hello.cipherSuites, id)
		}
	}
	if len(hs.hello.cipherSuites) == 0 {
		return errors.New("tlcp: no supported cipher suite enabled")
	}
	if cfg.ClientSessionCache == nil {
		return nil
	}
	hs.cacheKey = cfg.ServerName
	if hs.cacheKey == "" {
		hs.cacheKey = hs.c.conn.RemoteAddr().String()
	}
	if s, ok := cfg.ClientSessionCache.Get(hs.cacheKey); ok {
		if fresh(s.created, cfg.time(), cfg.sessionLifetime()) {
			hs.session = s
			hs.hello.sessionID = s.sessionID
		} else {
			cfg.ClientSessionCache.Put(hs.cacheKey, nil)
		}
	}
	return nil
}

func (hs *clientHandshakeState) readServerHello() error {
	c := hs.c
	sh, err := readMsg[*serverHelloMsg](c, hs.t)
	if err != nil {
		return err
	}
	hs.server = sh
	if sh.vers != VersionTLCP {
		return c.fail(alertProtocolVersion, fmt.Errorf("tlcp: server chose version %#04x", sh.vers))
	}
	if sh.compressionMethod != 0 {
		return c.fail(alertIllegalParameter, errors.New("tlcp: server chose a compression method"))
	}
	for _, id := range hs.hello.cipherSuites {
		if id == sh.cipherSuite {
			hs.suite = suiteByID(id)
		}
	}
	if hs.suite == nil {
		return c.fail(alertIllegalParameter, fmt.Errorf("tlcp: server chose cipher suite %s, which was not offered", CipherSuiteName(sh.cipherSuite)))
	}
	return nil
}

// resume completes an abbreviated handshake: the server's Finished comes
// first (GB/T 38636-2020 6.4.4).
func (hs *clientHandshakeState) resume() error {
	c := hs.c
	if hs.session.suite != hs.suite.id {
		return c.fail(alertIllegalParameter, errors.New("tlcp: server resumed the session with another cipher suite"))
	}
	hs.master = hs.session.master
	if err := c.setPendingKeys(hs.suite, hs.master, hs.hello.random, hs.server.random); err != nil {
		return c.fail(alertInternalError, err)
	}
	if err := c.readFinished(hs.t, hs.master); err != nil {
		return err
	}
	if err := c.sendFinished(hs.t, hs.master); err != nil {
		return err
	}
	c.state = connState{
		suite: hs.suite, didResume: true, serverName: c.config.ServerName,
		peerCertificates: hs.session.peerCerts, verifiedChains: hs.session.chains,
	}
	return nil
}

// full runs the full handshake from the server's Certificate on.
func (hs *clientHandshakeState) full() error {
	c, cfg := hs.c, hs.c.config
	server, err := hs.readServerCertificate()
	if err != nil {
		return err
	}

	skx, err := readMsg[*serverKeyExchangeMsg](c, hs.t)
	if err != nil {
		return err
	}
	var ecdhe ecdheClient
	if hs.suite.ecdhe {
		err = ecdhe.processServerKeyExchange(skx.key, server, hs.hello.random, hs.server.random)
	} else {
		err = verifyECCServerKeyExchange(skx.key, server, hs.hello.random, hs.server.random)
	}
	if err != nil {
		return c.fail(keyExchangeAlert(err, alertDecryptError), fmt.Errorf("tlcp: ServerKeyExchange: %w", err))
	}

	msg, raw, err := c.readHandshake()
	if err != nil {
		return err
	}
	var certReq *certificateRequestMsg
	if m, ok := msg.(*certificateRequestMsg); ok {
		certReq = m
		hs.t.add(raw)
		if msg, raw, err = c.readHandshake(); err != nil {
			return err
		}
	}
	if _, ok := msg.(*serverHelloDoneMsg); !ok {
		return c.fail(alertUnexpectedMessage, fmt.Errorf("tlcp: unexpected handshake message of type %d, want ServerHelloDone", raw[0]))
	}
	hs.t.add(raw)

	// Client Certificate (GB/T 38636-2020 6.4.5.7): sent when requested;
	// ECDHE needs it, as the client's encryption key enters the exchange.
	var own *Certificate
	if certReq != nil {
		if cfg.Certificate != nil && bytes.Contains(certReq.certificateTypes, []byte{certTypeECDSASign}) {
			own = cfg.Certificate
		}
		cm := &certificateMsg{}
		if own != nil {
			cm.certificates = own.chain()
		}
		if err := c.writeHandshake(cm, hs.t); err != nil {
			return err
		}
	}
	if hs.suite.ecdhe && own == nil {
		return c.fail(alertHandshakeFailure, errors.New("tlcp: ECDHE suites need the client's signing and encryption certificates, and the server did not ask for them or none is configured"))
	}

	var preMaster, body []byte
	if hs.suite.ecdhe {
		preMaster, body, err = ecdhe.clientKeyExchange(cfg, own, server)
	} else {
		preMaster, body, err = eccClientKeyExchange(cfg, server)
	}
	if err != nil {
		return c.fail(alertInternalError, err)
	}
	if err := c.writeHandshake(&clientKeyExchangeMsg{body: body}, hs.t); err != nil {
		return err
	}

	if own != nil {
		// CertificateVerify (GB/T 38636-2020 6.4.5.9): SM2 signature of
		// SM3(handshake_messages).
		sig, err := signSM2(own.SignKey, cfg.rand(), hs.t.sum())
		if err != nil {
			return c.fail(alertInternalError, err)
		}
		if err := c.writeHandshake(&certificateVerifyMsg{signature: sig}, hs.t); err != nil {
			return err
		}
	}

	hs.master = masterFromPreMaster(preMaster, hs.hello.random, hs.server.random)
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
		suite: hs.suite, serverName: cfg.ServerName,
		peerCertificates: server.certs, verifiedChains: server.chains,
	}
	if cfg.ClientSessionCache != nil && len(hs.server.sessionID) > 0 {
		cfg.ClientSessionCache.Put(hs.cacheKey, &ClientSessionState{
			sessionID: hs.server.sessionID, suite: hs.suite.id, master: hs.master,
			peerCerts: server.certs, chains: server.chains, created: cfg.time(),
		})
	}
	return nil
}

// readServerCertificate reads and checks the server's dual certificates.
func (hs *clientHandshakeState) readServerCertificate() (*peerIdentity, error) {
	c, cfg := hs.c, hs.c.config
	cm, err := readMsg[*certificateMsg](c, hs.t)
	if err != nil {
		return nil, err
	}
	server, a, err := parsePeerCertificates(cm.certificates, true)
	if err != nil {
		return nil, c.fail(a, err)
	}
	if err := server.checkKeyUsage(hs.suite.ecdhe); err != nil {
		return nil, c.fail(alertUnsupportedCertificate, err)
	}
	if !cfg.InsecureSkipVerify {
		roots := cfg.RootCAs
		if roots == nil {
			if roots, err = smx509.SystemCertPool(); err != nil {
				return nil, c.fail(alertInternalError, fmt.Errorf("tlcp: loading system roots: %w", err))
			}
		}
		if a, err := server.verify(roots, cfg.ServerName, smx509.ExtKeyUsageServerAuth, cfg); err != nil {
			return nil, c.fail(a, err)
		}
	}
	if a, err := server.runVerifyHook(cfg); err != nil {
		return nil, c.fail(a, err)
	}
	return server, nil
}
