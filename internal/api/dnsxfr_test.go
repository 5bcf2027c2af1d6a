package api

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/sdk/dnstsig"
)

// testZone is a zone of n A records between its SOA records, as AXFR
// sends it.
func testZone(serial uint32, n int) []dns.RR {
	soa := &dns.SOA{Hdr: dns.RR_Header{Name: "example.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 3600},
		Ns: "ns.example.", Mbox: "hostmaster.example.", Serial: serial, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 300}
	rrs := []dns.RR{soa}
	for i := range n {
		rrs = append(rrs, &dns.A{Hdr: dns.RR_Header{Name: fmt.Sprintf("h%d.example.", i), Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300},
			A: net.IPv4(10, byte(i>>16), byte(i>>8), byte(i))})
	}
	return append(rrs, soa)
}

// primary is an in-process primary server for zone example. whose TSIG
// key is in mima: it serves AXFR, and IXFR from serial-1 (one record
// added), with dnstsig.ServeTransfer through p.
func primary(t *testing.T, zone []dns.RR, p dns.TsigProvider) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	soa := zone[0].(*dns.SOA)
	old := *soa
	old.Serial--
	added := &dns.A{Hdr: dns.RR_Header{Name: "new.example.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: net.IPv4(192, 0, 2, 1)}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		rrs := zone
		if len(r.Question) == 1 && r.Question[0].Qtype == dns.TypeIXFR {
			rrs = []dns.RR{soa, &old, soa, added, soa}
		}
		_ = dnstsig.ServeTransfer(w, r, rrs)
	})
	srv := &dns.Server{Listener: ln, Net: "tcp", Handler: handler, TsigProvider: p}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

// flipProxy forwards TCP DNS between a client and server, inverting one
// byte of the answer message numbered at (from 0) inside its last answer
// record, before the TSIG record.
func flipProxy(t *testing.T, server string, at int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		s, err := net.Dial("tcp", server)
		if err != nil {
			t.Error(err)
			return
		}
		defer s.Close()
		go func() { _, _ = io.Copy(s, c) }()
		for i := 0; ; i++ {
			var size [2]byte
			if _, err := io.ReadFull(s, size[:]); err != nil {
				return
			}
			msg := make([]byte, binary.BigEndian.Uint16(size[:]))
			if _, err := io.ReadFull(s, msg); err != nil {
				return
			}
			if i == at {
				m := new(dns.Msg)
				if err := m.Unpack(msg); err != nil || m.IsTsig() == nil {
					t.Errorf("message %d: %v", i, err)
					return
				}
				msg[len(msg)-dns.Len(m.IsTsig())-1] ^= 0xff
			}
			if _, err := c.Write(append(size[:], msg...)); err != nil {
				return
			}
		}
	}()
	return ln.Addr().String()
}

// TestZoneTransferTSIG is issue 15's zone transfer: a primary serves a
// zone of 100,000 records by AXFR, and a change by IXFR, every message
// signed with HMAC-SM3 through mima, and the secondary (dnstsig.Transfer,
// as mima dns transfer runs it) checks every message's TSIG. A flipped
// byte in the first, a middle or the last message is BADSIG, a key the
// primary does not know BADKEY, another key under the right name BADSIG,
// a request signed outside the fudge BADTIME, and a replayed request
// BADTIME.
func TestZoneTransferTSIG(t *testing.T) {
	n := newTestNode(t)
	tok := n.tenant("acme")
	ctx := t.Context()
	c, err := sdk.New(n.srv.URL, sdk.WithToken(tok))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"xfr", "other"} {
		if _, err := c.Keys().Create(ctx, sdk.CreateKeyRequest{Name: k, Type: "hmac-sm3"}); err != nil {
			t.Fatal(err)
		}
	}
	zone := testZone(2026120601, 100_000)
	guard := &dnstsig.Guard{TsigProvider: dnstsig.New(ctx, c, map[string]string{"xfr.example.": "xfr"})}
	addr := primary(t, zone, guard)
	secondary := dnstsig.New(ctx, c, map[string]string{"xfr.example.": "xfr", "unknown.example.": "xfr"})
	opts := dnstsig.Options{KeyName: "xfr.example."}

	rrs, msgs, err := dnstsig.Transfer(ctx, addr, "example.", 0, secondary, opts)
	if err != nil || len(rrs) != len(zone) || msgs != (len(zone)+999)/1000 {
		t.Fatalf("AXFR: %d records in %d messages, %v", len(rrs), msgs, err)
	}
	for _, i := range []int{0, 1, len(zone) / 2, len(zone) - 1} {
		if !dns.IsDuplicate(rrs[i], zone[i]) {
			t.Fatalf("record %d: %v, want %v", i, rrs[i], zone[i])
		}
	}
	ixfr, ixfrMsgs, err := dnstsig.Transfer(ctx, addr, "example.", 2026120600, secondary, opts)
	if err != nil || len(ixfr) != 5 || ixfrMsgs != 1 || ixfr[3].Header().Name != "new.example." {
		t.Fatalf("IXFR: %v in %d messages, %v", ixfr, ixfrMsgs, err)
	}

	for _, at := range []int{0, msgs / 2, msgs - 1} {
		_, _, err := dnstsig.Transfer(ctx, flipProxy(t, addr, at), "example.", 0, secondary, opts)
		if dnstsig.Code(err) != dns.RcodeBadSig {
			t.Errorf("byte flipped in message %d: %v, want BADSIG", at, err)
		}
	}
	refused := []struct {
		name string
		p    dns.TsigProvider
		o    dnstsig.Options
		want uint16
	}{
		{"unknown key", secondary, dnstsig.Options{KeyName: "unknown.example."}, dns.RcodeBadKey},
		{"wrong key", dnstsig.New(ctx, c, map[string]string{"xfr.example.": "other"}), opts, dns.RcodeBadSig},
		{"stale time", secondary, dnstsig.Options{KeyName: "xfr.example.", Time: time.Now().Add(-301 * time.Second)}, dns.RcodeBadTime},
		{"future time", secondary, dnstsig.Options{KeyName: "xfr.example.", Time: time.Now().Add(time.Hour)}, dns.RcodeBadTime},
	}
	for _, r := range refused {
		if _, _, err := dnstsig.Transfer(ctx, addr, "example.", 0, r.p, r.o); dnstsig.Code(err) != r.want {
			t.Errorf("%s: %v, want %s", r.name, err, dnstsig.CodeName(r.want))
		}
	}

	// A request captured on the wire and sent again.
	q := new(dns.Msg).SetIxfr("example.", 2026120600, ".", ".")
	wire, _ := q.Pack()
	signed, _, err := dnstsig.Sign(wire, secondary, opts)
	if err != nil {
		t.Fatal(err)
	}
	var answers []*dns.Msg
	for range 2 {
		conn, err := dns.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write(signed); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, dns.MaxMsgSize)
		size, err := conn.Read(buf)
		conn.Close()
		m := new(dns.Msg)
		if err == nil {
			err = m.Unpack(buf[:size])
		}
		if err != nil {
			t.Fatal(err)
		}
		answers = append(answers, m)
	}
	if answers[0].Rcode != dns.RcodeSuccess || answers[1].Rcode != dns.RcodeNotAuth || answers[1].IsTsig().Error != dns.RcodeBadTime {
		t.Errorf("replay: first answer rcode %d, second %d with TSIG %v; want success, then NOTAUTH BADTIME",
			answers[0].Rcode, answers[1].Rcode, answers[1].IsTsig())
	}
}
