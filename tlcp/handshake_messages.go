package tlcp

import (
	"golang.org/x/crypto/cryptobyte"
)

// handshakeMessage is one message of GB/T 38636-2020 6.4.5. marshal returns
// the message with its 4-byte header; unmarshal parses exactly one message,
// header included, and keeps nothing that aliases its input.
type handshakeMessage interface {
	marshal() []byte
	unmarshal(data []byte) bool
}

// buildMessage frames body as a handshake message of type typ.
func buildMessage(typ uint8, body func(b *cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	b.AddUint8(typ)
	b.AddUint24LengthPrefixed(body)
	return b.BytesOrPanic()
}

// readMessage checks the header of data and returns the body reader.
func readMessage(data []byte, typ uint8) (cryptobyte.String, bool) {
	s := cryptobyte.String(data)
	var t uint8
	var body cryptobyte.String
	if !s.ReadUint8(&t) || t != typ || !s.ReadUint24LengthPrefixed(&body) || !s.Empty() {
		return nil, false
	}
	return body, true
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// clientHelloMsg is the ClientHello of GB/T 38636-2020 6.4.5.2.1.
// Extensions are not defined by the standard; they are kept verbatim so
// that the transcript hash covers them, and otherwise ignored.
type clientHelloMsg struct {
	vers               uint16
	random             []byte
	sessionID          []byte
	cipherSuites       []uint16
	compressionMethods []uint8
	hasExtensions      bool
	extensions         []byte
}

func (m *clientHelloMsg) marshal() []byte {
	return buildMessage(typeClientHello, func(b *cryptobyte.Builder) {
		b.AddUint16(m.vers)
		b.AddBytes(m.random)
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(m.sessionID) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, s := range m.cipherSuites {
				b.AddUint16(s)
			}
		})
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(m.compressionMethods) })
		if m.hasExtensions {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(m.extensions) })
		}
	})
}

func (m *clientHelloMsg) unmarshal(data []byte) bool {
	*m = clientHelloMsg{}
	s, ok := readMessage(data, typeClientHello)
	var random, sessionID, suites, compression []byte
	if !ok || !s.ReadUint16(&m.vers) || !s.ReadBytes(&random, randomLen) ||
		!s.ReadUint8LengthPrefixed((*cryptobyte.String)(&sessionID)) || len(sessionID) > maxSessionIDLen ||
		!s.ReadUint16LengthPrefixed((*cryptobyte.String)(&suites)) || len(suites) < 2 || len(suites)%2 != 0 ||
		!s.ReadUint8LengthPrefixed((*cryptobyte.String)(&compression)) || len(compression) < 1 {
		return false
	}
	m.random, m.sessionID, m.compressionMethods = clone(random), clone(sessionID), clone(compression)
	for i := 0; i < len(suites); i += 2 {
		m.cipherSuites = append(m.cipherSuites, uint16(suites[i])<<8|uint16(suites[i+1]))
	}
	if s.Empty() {
		return true
	}
	var ext cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&ext) || !s.Empty() || !validExtensions(ext) {
		return false
	}
	m.hasExtensions, m.extensions = true, clone(ext)
	return true
}

// validExtensions checks the framing of an extension block.
func validExtensions(ext cryptobyte.String) bool {
	for !ext.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !ext.ReadUint16(&typ) || !ext.ReadUint16LengthPrefixed(&data) {
			return false
		}
	}
	return true
}

// serverHelloMsg is the ServerHello of GB/T 38636-2020 6.4.5.2.2.
type serverHelloMsg struct {
	vers              uint16
	random            []byte
	sessionID         []byte
	cipherSuite       uint16
	compressionMethod uint8
	hasExtensions     bool
	extensions        []byte
}

func (m *serverHelloMsg) marshal() []byte {
	return buildMessage(typeServerHello, func(b *cryptobyte.Builder) {
		b.AddUint16(m.vers)
		b.AddBytes(m.random)
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(m.sessionID) })
		b.AddUint16(m.cipherSuite)
		b.AddUint8(m.compressionMethod)
		if m.hasExtensions {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(m.extensions) })
		}
	})
}

func (m *serverHelloMsg) unmarshal(data []byte) bool {
	*m = serverHelloMsg{}
	s, ok := readMessage(data, typeServerHello)
	var random, sessionID []byte
	if !ok || !s.ReadUint16(&m.vers) || !s.ReadBytes(&random, randomLen) ||
		!s.ReadUint8LengthPrefixed((*cryptobyte.String)(&sessionID)) || len(sessionID) > maxSessionIDLen ||
		!s.ReadUint16(&m.cipherSuite) || !s.ReadUint8(&m.compressionMethod) {
		return false
	}
	m.random, m.sessionID = clone(random), clone(sessionID)
	if s.Empty() {
		return true
	}
	var ext cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&ext) || !s.Empty() || !validExtensions(ext) {
		return false
	}
	m.hasExtensions, m.extensions = true, clone(ext)
	return true
}

// certificateMsg is the Certificate message of GB/T 38636-2020 6.4.5.3 and
// 6.4.5.7: signing certificate, encryption certificate, then CA
// certificates.
type certificateMsg struct {
	certificates [][]byte
}

func (m *certificateMsg) marshal() []byte {
	return buildMessage(typeCertificate, func(b *cryptobyte.Builder) {
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, c := range m.certificates {
				b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c) })
			}
		})
	})
}

func (m *certificateMsg) unmarshal(data []byte) bool {
	*m = certificateMsg{}
	s, ok := readMessage(data, typeCertificate)
	var list cryptobyte.String
	if !ok || !s.ReadUint24LengthPrefixed(&list) || !s.Empty() {
		return false
	}
	for !list.Empty() {
		var cert []byte
		if !list.ReadUint24LengthPrefixed((*cryptobyte.String)(&cert)) || len(cert) == 0 {
			return false
		}
		m.certificates = append(m.certificates, clone(cert))
	}
	return true
}

// serverKeyExchangeMsg is the ServerKeyExchange of GB/T 38636-2020 6.4.5.4;
// its body depends on the key exchange and is parsed by the key agreement.
type serverKeyExchangeMsg struct {
	key []byte
}

func (m *serverKeyExchangeMsg) marshal() []byte {
	return buildMessage(typeServerKeyExchange, func(b *cryptobyte.Builder) { b.AddBytes(m.key) })
}

func (m *serverKeyExchangeMsg) unmarshal(data []byte) bool {
	s, ok := readMessage(data, typeServerKeyExchange)
	m.key = clone(s)
	return ok
}

// certificateRequestMsg is the CertificateRequest of GB/T 38636-2020
// 6.4.5.5.
type certificateRequestMsg struct {
	certificateTypes       []byte
	certificateAuthorities [][]byte
}

func (m *certificateRequestMsg) marshal() []byte {
	return buildMessage(typeCertificateRequest, func(b *cryptobyte.Builder) {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(m.certificateTypes) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, ca := range m.certificateAuthorities {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(ca) })
			}
		})
	})
}

func (m *certificateRequestMsg) unmarshal(data []byte) bool {
	*m = certificateRequestMsg{}
	s, ok := readMessage(data, typeCertificateRequest)
	var types []byte
	var cas cryptobyte.String
	if !ok || !s.ReadUint8LengthPrefixed((*cryptobyte.String)(&types)) || len(types) == 0 ||
		!s.ReadUint16LengthPrefixed(&cas) || !s.Empty() {
		return false
	}
	m.certificateTypes = clone(types)
	for !cas.Empty() {
		var dn []byte
		if !cas.ReadUint16LengthPrefixed((*cryptobyte.String)(&dn)) || len(dn) == 0 {
			return false
		}
		m.certificateAuthorities = append(m.certificateAuthorities, clone(dn))
	}
	return true
}

// helloRequestMsg is the HelloRequest of GB/T 38636-2020 6.4.5.1.
type helloRequestMsg struct{}

func (*helloRequestMsg) marshal() []byte { return []byte{typeHelloRequest, 0, 0, 0} }

func (*helloRequestMsg) unmarshal(data []byte) bool {
	s, ok := readMessage(data, typeHelloRequest)
	return ok && s.Empty()
}

// serverHelloDoneMsg is the ServerHelloDone of GB/T 38636-2020 6.4.5.6.
type serverHelloDoneMsg struct{}

func (*serverHelloDoneMsg) marshal() []byte { return []byte{typeServerHelloDone, 0, 0, 0} }

func (*serverHelloDoneMsg) unmarshal(data []byte) bool {
	s, ok := readMessage(data, typeServerHelloDone)
	return ok && s.Empty()
}

// clientKeyExchangeMsg is the ClientKeyExchange of GB/T 38636-2020 6.4.5.8;
// its body is parsed by the key agreement.
type clientKeyExchangeMsg struct {
	body []byte
}

func (m *clientKeyExchangeMsg) marshal() []byte {
	return buildMessage(typeClientKeyExchange, func(b *cryptobyte.Builder) { b.AddBytes(m.body) })
}

func (m *clientKeyExchangeMsg) unmarshal(data []byte) bool {
	s, ok := readMessage(data, typeClientKeyExchange)
	m.body = clone(s)
	return ok
}

// certificateVerifyMsg is the CertificateVerify of GB/T 38636-2020 6.4.5.9:
// an SM2 signature<0..2^16-1>.
type certificateVerifyMsg struct {
	signature []byte
}

func (m *certificateVerifyMsg) marshal() []byte {
	return buildMessage(typeCertificateVerify, func(b *cryptobyte.Builder) {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(m.signature) })
	})
}

func (m *certificateVerifyMsg) unmarshal(data []byte) bool {
	s, ok := readMessage(data, typeCertificateVerify)
	var sig []byte
	if !ok || !s.ReadUint16LengthPrefixed((*cryptobyte.String)(&sig)) || !s.Empty() {
		return false
	}
	m.signature = clone(sig)
	return true
}

// finishedMsg is the Finished of GB/T 38636-2020 6.4.5.10.
type finishedMsg struct {
	verifyData []byte
}

func (m *finishedMsg) marshal() []byte {
	return buildMessage(typeFinished, func(b *cryptobyte.Builder) { b.AddBytes(m.verifyData) })
}

func (m *finishedMsg) unmarshal(data []byte) bool {
	s, ok := readMessage(data, typeFinished)
	if !ok || len(s) != verifyDataLen {
		return false
	}
	m.verifyData = clone(s)
	return true
}

// newMessage returns an empty message for a handshake type, or nil.
func newMessage(typ uint8) handshakeMessage {
	switch typ {
	case typeHelloRequest:
		return new(helloRequestMsg)
	case typeServerHelloDone:
		return new(serverHelloDoneMsg)
	case typeClientHello:
		return new(clientHelloMsg)
	case typeServerHello:
		return new(serverHelloMsg)
	case typeCertificate:
		return new(certificateMsg)
	case typeServerKeyExchange:
		return new(serverKeyExchangeMsg)
	case typeCertificateRequest:
		return new(certificateRequestMsg)
	case typeClientKeyExchange:
		return new(clientKeyExchangeMsg)
	case typeCertificateVerify:
		return new(certificateVerifyMsg)
	case typeFinished:
		return new(finishedMsg)
	}
	return nil
}
