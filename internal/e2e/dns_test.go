package e2e

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/mimacrypto/mima/sdk/dnstsig"
)

// TestDNSTransferCommand runs mima dns transfer against a primary whose
// TSIG key (hmac-sm3) is in mima: the zone arrives with every message's
// TSIG checked; a key the primary does not know exits 2 with BADKEY and
// another key under the primary's key name exits 2 with BADSIG.
func TestDNSTransferCommand(t *testing.T) {
	srv, root := devServer(t)
	for _, k := range []string{"xfr", "other"} {
		must(t, srv, root, "", "key", "create", k, "--type", "hmac-sm3")
	}
	soa := &dns.SOA{Hdr: dns.RR_Header{Name: "example.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 3600},
		Ns: "ns.example.", Mbox: "hostmaster.example.", Serial: 7, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 300}
	zone := []dns.RR{soa}
	for i := range 5000 {
		zone = append(zone, &dns.TXT{Hdr: dns.RR_Header{Name: fmt.Sprintf("r%d.example.", i), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300},
			Txt: []string{"record"}})
	}
	zone = append(zone, soa)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	primary := &dns.Server{Listener: ln, Net: "tcp", TsigProvider: &dnstsig.Guard{TsigProvider: dnstsig.New(t.Context(), srv.client(t, root), nil)},
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) { _ = dnstsig.ServeTransfer(w, r, zone) })}
	go func() { _ = primary.ActivateAndServe() }()
	t.Cleanup(func() { _ = primary.Shutdown() })

	args := []string{"dns", "transfer", "--server", ln.Addr().String(), "--zone", "example."}
	r := cli(t, srv.addr, root, append(args, "--key", "xfr")...)
	if r.code != 0 || strings.Count(r.stdout, "\n") != len(zone) || !strings.Contains(r.stderr, "5002 records in 6 messages, every TSIG valid") {
		t.Fatalf("transfer: exit %d, %d lines, %s", r.code, strings.Count(r.stdout, "\n"), r.stderr)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--key", "xfr", "--key-name", "unknown."}, "BADKEY"},
		{[]string{"--key", "other", "--key-name", "xfr."}, "BADSIG"},
	} {
		if r := cli(t, srv.addr, root, append(args, c.args...)...); r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, %s; want 2 and %s", c.args, r.code, r.stderr, c.want)
		}
	}
}
