package dnstsig

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

// FuzzVerify: any bytes given as a signed message are refused or
// accepted without a panic, and only a MAC the provider computes is
// accepted.
func FuzzVerify(f *testing.F) {
	p := &MACProvider{MAC: func(string, []byte) ([]byte, error) { return make([]byte, 32), nil }}
	wire, _ := new(dns.Msg).SetQuestion("example.", dns.TypeSOA).Pack()
	signed, _, err := Sign(wire, p, Options{KeyName: "k.", Time: time.Unix(1_800_000_000, 0)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add(wire)
	f.Fuzz(func(t *testing.T, msg []byte) {
		if err := Verify(msg, p, nil, false, time.Unix(1_800_000_000, 0)); err == nil {
			m := new(dns.Msg)
			if m.Unpack(msg) != nil || m.IsTsig() == nil || m.IsTsig().MAC != "0000000000000000000000000000000000000000000000000000000000000000" {
				t.Fatalf("accepted %x", msg)
			}
		}
	})
}
