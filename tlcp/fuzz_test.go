package tlcp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/emmansun/gmsm/ecdh"
)

// goldenMessages returns the plaintext handshake messages of the golden
// transcripts (everything before ChangeCipherSpec), as fuzz seeds.
func goldenMessages(tb testing.TB) [][]byte {
	tb.Helper()
	var flights []flight
	for _, g := range goldenCases {
		flights = append(flights, readGolden(tb, g)...)
	}
	var msgs [][]byte
	for _, fl := range flights {
		var hand []byte
		for rest := fl.data; len(rest) >= recordHeaderLen; {
			n := int(rest[3])<<8 | int(rest[4])
			if recordType(rest[0]) != recordTypeHandshake {
				break
			}
			hand = append(hand, rest[recordHeaderLen:recordHeaderLen+n]...)
			rest = rest[recordHeaderLen+n:]
		}
		for len(hand) >= 4 {
			n := 4 + (int(hand[1])<<16 | int(hand[2])<<8 | int(hand[3]))
			msgs = append(msgs, hand[:n])
			hand = hand[n:]
		}
	}
	return msgs
}

// fuzzMessage checks that a parser never panics and that whatever it
// accepts marshals back to exactly the input.
func fuzzMessage(f *testing.F, newMsg func() handshakeMessage) {
	for _, m := range goldenMessages(f) {
		f.Add(m)
	}
	f.Add(newMsg().marshal())
	f.Fuzz(func(t *testing.T, data []byte) {
		m := newMsg()
		if !m.unmarshal(data) {
			return
		}
		if out := m.marshal(); !bytes.Equal(out, data) {
			t.Fatalf("accepted %x but marshals to %x", data, out)
		}
	})
}

func FuzzClientHello(f *testing.F) {
	fuzzMessage(f, func() handshakeMessage {
		return &clientHelloMsg{vers: VersionTLCP, random: make([]byte, randomLen), cipherSuites: []uint16{ECC_SM4_GCM_SM3}, compressionMethods: []uint8{0}}
	})
}

func FuzzServerHello(f *testing.F) {
	fuzzMessage(f, func() handshakeMessage { return &serverHelloMsg{vers: VersionTLCP, random: make([]byte, randomLen)} })
}

func FuzzCertificate(f *testing.F) {
	fuzzMessage(f, func() handshakeMessage { return new(certificateMsg) })
}

func FuzzCertificateRequest(f *testing.F) {
	fuzzMessage(f, func() handshakeMessage {
		return &certificateRequestMsg{certificateTypes: []byte{certTypeECDSASign}, certificateAuthorities: [][]byte{{0x30, 0}}}
	})
}

func FuzzCertificateVerify(f *testing.F) {
	fuzzMessage(f, func() handshakeMessage { return &certificateVerifyMsg{signature: []byte{0x30, 0}} })
}

func FuzzFinished(f *testing.F) {
	fuzzMessage(f, func() handshakeMessage { return &finishedMsg{verifyData: make([]byte, verifyDataLen)} })
}

func FuzzServerHelloDone(f *testing.F) {
	fuzzMessage(f, func() handshakeMessage { return new(serverHelloDoneMsg) })
}

// FuzzServerKeyExchange parses ServerKeyExchange bodies as both key
// exchanges: parsing must not panic and a signature can never verify.
func FuzzServerKeyExchange(f *testing.F) {
	f.Add([]byte{0, 2, 0x30, 0})
	f.Add(vector16(ecdhParams(mustEphemeral(f).PublicKey()), []byte{0x30, 0}))
	for _, m := range goldenMessages(f) {
		if m[0] == typeServerKeyExchange {
			f.Add(m[4:])
		}
	}
	_, server, _ := goldenIdentities(f)
	id := &peerIdentity{sign: mustParse(f, server.SignCertificate), enc: mustParse(f, server.EncCertificate)}
	random := make([]byte, randomLen)
	f.Fuzz(func(t *testing.T, body []byte) {
		if verifyECCServerKeyExchange(body, id, random, random) == nil {
			t.Fatal("ECC ServerKeyExchange verified under a zero random")
		}
		var e ecdheClient
		if e.processServerKeyExchange(body, id, random, random) == nil {
			t.Fatal("ECDHE ServerKeyExchange verified under a zero random")
		}
	})
}

func mustEphemeral(tb testing.TB) *ecdh.PrivateKey {
	tb.Helper()
	k, err := ephemeralKey(&detRand{seed: "fuzz"})
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// FuzzClientKeyExchange parses ECDHE ClientKeyExchange bodies: an accepted
// body holds a valid SM2 point that re-encodes to the standard form.
func FuzzClientKeyExchange(f *testing.F) {
	params := ecdhParams(mustEphemeral(f).PublicKey())
	f.Add(vector16(nil, params))
	f.Add(params)
	f.Add([]byte{0, 1, 3})
	f.Fuzz(func(t *testing.T, body []byte) {
		pub, ok := parseClientECDHParams(body)
		if !ok {
			return
		}
		again, ok := parseClientECDHParams(vector16(nil, ecdhParams(pub)))
		if !ok || !again.Equal(pub) {
			t.Fatal("accepted point does not round-trip")
		}
	})
}

// FuzzRecordOpen feeds arbitrary fragments to the record decryption of
// both record protections: nothing panics, and whatever opens is within
// the plaintext limit and, for GCM, re-seals to the same fragment.
func FuzzRecordOpen(f *testing.F) {
	for _, suite := range []uint16{ECC_SM4_CBC_SM3, ECC_SM4_GCM_SM3} {
		hc := testHalfConn(f, suite)
		rec, err := hc.seal(nil, recordTypeApplicationData, []byte("seed record"), &detRand{seed: "iv"})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(suite == ECC_SM4_GCM_SM3, rec)
	}
	f.Add(false, []byte{23, 1, 1, 0, 0})
	f.Fuzz(func(t *testing.T, gcm bool, rec []byte) {
		if len(rec) < recordHeaderLen {
			return
		}
		suite := ECC_SM4_CBC_SM3
		if gcm {
			suite = ECC_SM4_GCM_SM3
		}
		in := append([]byte(nil), rec...)
		plain, err := testHalfConn(t, suite).open(in[:recordHeaderLen], in[recordHeaderLen:])
		if err != nil {
			if !errors.Is(err, alertBadRecordMAC) && !errors.Is(err, alertRecordOverflow) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if len(plain) > maxPlaintext {
			t.Fatalf("opened %d bytes", len(plain))
		}
		if gcm {
			// The header's version and length are checked by the reader,
			// not by open; type and fragment must round-trip.
			again, err := testHalfConn(t, suite).seal(nil, recordType(rec[0]), plain, nil)
			if err != nil || again[0] != rec[0] || !bytes.Equal(again[recordHeaderLen:], rec[recordHeaderLen:]) {
				t.Fatalf("GCM record does not re-seal to itself")
			}
		}
	})
}

// testHalfConn is a half connection with fixed keys at sequence number 0.
func testHalfConn(tb testing.TB, suite uint16) *halfConn {
	s := suiteByID(suite)
	kb := keysFromMaster(s, make([]byte, masterSecretLen), make([]byte, randomLen), make([]byte, randomLen))
	p, err := s.newProtection(kb.clientMAC, kb.clientKey, kb.clientIV)
	if err != nil {
		tb.Fatal(err)
	}
	return &halfConn{prot: p}
}

// scriptConn reads a fixed input and discards writes.
type scriptConn struct {
	net.Conn
	in io.Reader
}

func (c *scriptConn) Read(b []byte) (int, error)       { return c.in.Read(b) }
func (c *scriptConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *scriptConn) Close() error                     { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }
func (c *scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }

// FuzzHandshakeInput feeds arbitrary bytes to a server and to a client as
// everything the peer sends: the handshake must fail cleanly, never
// succeed, panic or hang.
func FuzzHandshakeInput(f *testing.F) {
	// The golden handshake flights of each side, up to the first
	// application data: only input starting with them may succeed.
	var fromClient, fromServer []byte
	for _, fl := range readGolden(f, goldenCase{suite: ECC_SM4_CBC_SM3}) {
		if recordType(fl.data[0]) == recordTypeApplicationData {
			break
		}
		if fl.fromClient {
			fromClient = append(fromClient, fl.data...)
		} else {
			fromServer = append(fromServer, fl.data...)
		}
	}
	f.Add(true, fromClient)
	f.Add(false, fromServer)
	f.Add(true, []byte{22, 1, 1, 0, 4, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, toServer bool, input []byte) {
		scfg, ccfg := goldenConfigs(t, goldenCase{suite: ECC_SM4_CBC_SM3})
		conn := &scriptConn{in: bytes.NewReader(input)}
		c, golden := Client(conn, ccfg), fromServer
		if toServer {
			c, golden = Server(conn, scfg), fromClient
		}
		if err := c.Handshake(); err == nil && !bytes.HasPrefix(input, golden) {
			t.Fatal("handshake succeeded on fuzzed input")
		}
	})
}
