package dnssec

import (
	"testing"

	"github.com/miekg/dns"
)

// FuzzParsers: the DER signature and the DNSKEY public key parsers refuse
// what they cannot use without a panic, and a signature they accept is 64
// octets.
func FuzzParsers(f *testing.F) {
	f.Add([]byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01})
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		if raw, err := Signature(b); err == nil && len(raw) != 64 {
			t.Fatalf("signature of %d octets", len(raw))
		}
		k := &dns.DNSKEY{Hdr: dns.RR_Header{Name: "example."}, Flags: FlagZSK, Protocol: 3, Algorithm: SM2SM3}
		k.PublicKey = string(b)
		_, _ = PublicKey(k)
	})
}
