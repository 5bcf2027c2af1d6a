package tlcp

import (
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// clientKeyExchangeBody returns the body of the ClientKeyExchange the
// client wrote in flights: the handshake messages travel in clear until
// ChangeCipherSpec.
func clientKeyExchangeBody(t *testing.T, flights []flight) []byte {
	t.Helper()
	var hs []byte
	for _, f := range flights {
		if !f.fromClient {
			continue
		}
		s := cryptobyte.String(f.data)
		for !s.Empty() {
			var typ uint8
			var version uint16
			var frag []byte
			var body cryptobyte.String
			if !s.ReadUint8(&typ) || !s.ReadUint16(&version) || !s.ReadUint16LengthPrefixed(&body) {
				t.Fatal("malformed record")
			}
			frag = body
			if recordType(typ) == recordTypeHandshake {
				hs = append(hs, frag...)
			}
		}
	}
	m := cryptobyte.String(hs)
	for !m.Empty() {
		var typ uint8
		var body cryptobyte.String
		if !m.ReadUint8(&typ) || !m.ReadUint24LengthPrefixed(&body) {
			break // the encrypted Finished follows
		}
		if typ == typeClientKeyExchange {
			return body
		}
	}
	t.Fatal("no ClientKeyExchange in the client's flights")
	return nil
}

// TestECDHEClientParamsForm: mima's TLCP client sends ClientECDHParams as
// ECParameters || ECPoint with no length prefix by default, the form the
// widely deployed open-source TLCP servers (Tongsuo among them) expect, and
// the prefixed opaque<1..2^16-1> form when Config.ECDHEPrefixedClientParams
// asks for it. The server accepts both.
func TestECDHEClientParamsForm(t *testing.T) {
	for _, suite := range []uint16{ECDHE_SM4_CBC_SM3, ECDHE_SM4_GCM_SM3} {
		body := clientKeyExchangeBody(t, recordGolden(t, goldenCase{suite: suite}))
		if body[0] != curveTypeNamed || len(body) != 1+2+1+65 {
			t.Errorf("%s: ClientKeyExchange %x is not ECParameters || ECPoint", CipherSuiteName(suite), body)
		}
		body = clientKeyExchangeBody(t, recordGolden(t, goldenCase{suite: suite, prefixed: true}))
		if body[0] != 0 || int(body[0])<<8|int(body[1]) != len(body)-2 || body[2] != curveTypeNamed {
			t.Errorf("%s prefixed: ClientKeyExchange %x is not opaque<1..2^16-1>", CipherSuiteName(suite), body)
		}
	}
}
