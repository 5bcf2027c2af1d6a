package tlcp

import (
	"crypto"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/ecdh"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
)

// SM2KeyExchanger is an encryption private key that takes part in the SM2
// key exchange protocol (GB/T 32918.3) without revealing the static private
// key, for example one held in an HSM. *ecdh.PrivateKey of
// github.com/emmansun/gmsm/ecdh implements it.
type SM2KeyExchanger interface {
	// SM2MQV returns the shared point (U for the initiator, V for the
	// responder) computed from the receiver's static private key, the local
	// ephemeral private key and the peer's static and ephemeral public
	// keys.
	SM2MQV(eLocal *ecdh.PrivateKey, sRemote, eRemote *ecdh.PublicKey) (*ecdh.PublicKey, error)
}

// ECParameters of an ECDHE exchange: curve_type named_curve (3) and the
// curve identifier. GB/T 38636-2020 6.4.5.4 fixes the curve to SM2 and lets
// receivers ignore the curve identifier; this package sends curveSM2 (41,
// the SM2 group number of RFC 8998) and accepts any.
const (
	curveTypeNamed = 3
	curveSM2       = 41
	// sm2PointLen is an uncompressed SM2 point: 0x04 || x || y.
	sm2PointLen = 65
)

// ecdhParams encodes ServerECDHParams / ClientECDHParams: ECParameters
// followed by ECPoint<1..2^8-1>.
func ecdhParams(pub *ecdh.PublicKey) []byte {
	var b cryptobyte.Builder
	b.AddUint8(curveTypeNamed)
	b.AddUint16(curveSM2)
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(pub.Bytes()) })
	return b.BytesOrPanic()
}

// readECDHParams reads ECParameters and an SM2 ECPoint from s.
func readECDHParams(s *cryptobyte.String) (*ecdh.PublicKey, bool) {
	var curveType uint8
	var curve uint16
	var point cryptobyte.String
	if !s.ReadUint8(&curveType) || curveType != curveTypeNamed || !s.ReadUint16(&curve) ||
		!s.ReadUint8LengthPrefixed(&point) || len(point) != sm2PointLen {
		return nil, false
	}
	pub, err := ecdh.P256().NewPublicKey(point)
	return pub, err == nil
}

// ephemeralKey draws an SM2 ephemeral key directly from rand, so that a
// deterministic Config.Rand gives deterministic keys.
func ephemeralKey(rand io.Reader) (*ecdh.PrivateKey, error) {
	var scalar [32]byte
	for {
		if _, err := io.ReadFull(rand, scalar[:]); err != nil {
			return nil, fmt.Errorf("tlcp: drawing ephemeral key: %w", err)
		}
		if k, err := ecdh.P256().NewPrivateKey(scalar[:]); err == nil {
			return k, nil
		}
	}
}

// keyExchanger returns the SM2 key exchange form of an encryption key.
func keyExchanger(k crypto.PrivateKey) (SM2KeyExchanger, error) {
	switch k := k.(type) {
	case *sm2.PrivateKey:
		return k.ECDH()
	case SM2KeyExchanger:
		return k, nil
	}
	return nil, fmt.Errorf("tlcp: encryption key of type %T cannot do the SM2 key exchange", k)
}

// staticPublic returns the SM2 public key of a certificate as an ECDH key.
func staticPublic(cert *smx509.Certificate) (*ecdh.PublicKey, error) {
	pub, err := sm2Public(cert)
	if err != nil {
		return nil, err
	}
	return sm2.PublicKeyToECDH(pub)
}

// sm2SharedSecret runs the last steps of the SM2 key exchange
// (GB/T 32918.3-2016 section 6, steps A4-A8 / B3-B7) and returns the 48-byte
// pre-master secret KDF(x || y || Z_A || Z_B, 384). The server is the
// initiator A, the client the responder B; the static keys are both
// parties' encryption keys and both user IDs are the default
// "1234567812345678".
func sm2SharedSecret(own SM2KeyExchanger, ownStatic *ecdh.PublicKey, ephemeral *ecdh.PrivateKey, peerStatic, peerEphemeral *ecdh.PublicKey, responder bool) ([]byte, error) {
	point, err := own.SM2MQV(ephemeral, peerStatic, peerEphemeral)
	if err != nil {
		return nil, fmt.Errorf("tlcp: SM2 key exchange: %w", err)
	}
	secret, err := point.SM2SharedKey(responder, preMasterLen, ownStatic, peerStatic, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("tlcp: SM2 key exchange: %w", err)
	}
	return secret, nil
}

// ecdheServer holds the server side of an ECDHE exchange between its
// ServerKeyExchange and the client's ClientKeyExchange.
type ecdheServer struct {
	ephemeral *ecdh.PrivateKey
}

// serverKeyExchange builds the ECDHE ServerKeyExchange body: ServerECDHParams
// and the SM2 signature of client_random || server_random ||
// ServerECDHParams (GB/T 38636-2020 6.4.5.4).
func (e *ecdheServer) serverKeyExchange(c *Config, cert *Certificate, clientRandom, serverRandom []byte) ([]byte, error) {
	var err error
	if e.ephemeral, err = ephemeralKey(c.rand()); err != nil {
		return nil, err
	}
	params := ecdhParams(e.ephemeral.PublicKey())
	signed := append(append(append([]byte(nil), clientRandom...), serverRandom...), params...)
	sig, err := signSM2(cert.SignKey, c.rand(), signed)
	if err != nil {
		return nil, err
	}
	return vector16(params, sig), nil
}

// preMaster derives the pre-master secret from the client's
// ClientKeyExchange and its encryption certificate.
func (e *ecdheServer) preMaster(cert *Certificate, client *peerIdentity, body []byte) ([]byte, error) {
	clientEphemeral, ok := parseClientECDHParams(body)
	if !ok {
		return nil, fmt.Errorf("tlcp: %w: ECDHE ClientKeyExchange", errMalformed)
	}
	own, err := keyExchanger(cert.EncKey)
	if err != nil {
		return nil, err
	}
	encCert, err := smx509.ParseCertificate(cert.EncCertificate)
	if err != nil {
		return nil, fmt.Errorf("tlcp: parsing own encryption certificate: %w", err)
	}
	ownStatic, err := staticPublic(encCert)
	if err != nil {
		return nil, err
	}
	peerStatic, err := staticPublic(client.enc)
	if err != nil {
		return nil, err
	}
	return sm2SharedSecret(own, ownStatic, e.ephemeral, peerStatic, clientEphemeral, false)
}

// parseClientECDHParams reads the ECDHE ClientKeyExchange body. The
// standard defines it as opaque ClientECDHParams<1..2^16-1>, which this
// package's client sends with Config.ECDHEPrefixedClientParams; the form
// without the 2-byte length, its default and Tongsuo's, is accepted too (it starts with curve_type 3, never with a length's high
// byte 0).
func parseClientECDHParams(body []byte) (*ecdh.PublicKey, bool) {
	s := cryptobyte.String(body)
	if len(body) > 0 && body[0] != curveTypeNamed {
		var inner cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&inner) || !s.Empty() {
			return nil, false
		}
		s = inner
	}
	pub, ok := readECDHParams(&s)
	return pub, ok && s.Empty()
}

// ecdheClient holds what the client learnt from the ECDHE
// ServerKeyExchange.
type ecdheClient struct {
	serverEphemeral *ecdh.PublicKey
}

// processServerKeyExchange parses and verifies the ECDHE ServerKeyExchange.
func (e *ecdheClient) processServerKeyExchange(body []byte, server *peerIdentity, clientRandom, serverRandom []byte) error {
	s := cryptobyte.String(body)
	pub, ok := readECDHParams(&s)
	if !ok {
		return fmt.Errorf("tlcp: %w: ECDHE ServerKeyExchange parameters", errMalformed)
	}
	params := body[:len(body)-len(s)]
	sig, ok := parseSignature(s)
	if !ok {
		return fmt.Errorf("tlcp: %w: ECDHE ServerKeyExchange signature", errMalformed)
	}
	signed := append(append(append([]byte(nil), clientRandom...), serverRandom...), params...)
	if err := verifySM2(server.sign, signed, sig); err != nil {
		return err
	}
	e.serverEphemeral = pub
	return nil
}

// clientKeyExchange runs the responder side of the SM2 key exchange with
// the client's encryption key and returns the pre-master secret and the
// ClientKeyExchange body.
func (e *ecdheClient) clientKeyExchange(c *Config, cert *Certificate, server *peerIdentity) (preMaster, body []byte, err error) {
	own, err := keyExchanger(cert.EncKey)
	if err != nil {
		return nil, nil, err
	}
	encCert, err := smx509.ParseCertificate(cert.EncCertificate)
	if err != nil {
		return nil, nil, fmt.Errorf("tlcp: parsing own encryption certificate: %w", err)
	}
	ownStatic, err := staticPublic(encCert)
	if err != nil {
		return nil, nil, err
	}
	peerStatic, err := staticPublic(server.enc)
	if err != nil {
		return nil, nil, err
	}
	ephemeral, err := ephemeralKey(c.rand())
	if err != nil {
		return nil, nil, err
	}
	preMaster, err = sm2SharedSecret(own, ownStatic, ephemeral, peerStatic, e.serverEphemeral, true)
	if err != nil {
		return nil, nil, err
	}
	body = ecdhParams(ephemeral.PublicKey())
	if c.ECDHEPrefixedClientParams {
		body = vector16(nil, body)
	}
	return preMaster, body, nil
}
