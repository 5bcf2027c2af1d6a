package dnssec

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/miekg/dns"
)

const testZoneText = `$ORIGIN example.
$TTL 3600
@       IN SOA ns1.example. hostmaster.example. 1 3600 300 3600000 300
@       IN NS  ns1.example.
@       IN NS  NS2.Example.
ns1     IN A   192.0.2.1
ns2     IN A   192.0.2.2
www     IN A   192.0.2.3
www     IN A   192.0.2.4
*.wild  IN TXT "wildcard"
sub     IN NS  ns.sub.example.
ns.sub  IN A   192.0.2.53
`

// localKey is an SM2 key whose Signer signs in-process, as mima's sign
// route does (SM3 with the default identifier, DER).
func localKey(t *testing.T) Key {
	t.Helper()
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return Key{Public: &priv.PublicKey, Sign: func(_ context.Context, msgs [][]byte) ([][]byte, error) {
		out := make([][]byte, len(msgs))
		for i, m := range msgs {
			sig, err := sm2.SignASN1(rand.Reader, priv, m, sm2.DefaultSM2SignerOpts)
			if err != nil {
				return nil, err
			}
			out[i] = sig
		}
		return out, nil
	}}
}

func parse(t *testing.T, text string) []dns.RR {
	t.Helper()
	var rrs []dns.RR
	zp := dns.NewZoneParser(strings.NewReader(text), "example.", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	return rrs
}

// TestSignAndValidateZone: a zone signed with SM2 keys validates from its
// DS, survives a round trip through master-file text, and each kind of
// damage is refused naming the first bad RRset.
func TestSignAndValidateZone(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	zsk, ksk := localKey(t), localKey(t)
	signed, ds, err := SignZone(t.Context(), parse(t, testZoneText), zsk, ksk, Options{Inception: now.Add(-time.Hour), Expiration: now.Add(30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Algorithm != 17 || ds.DigestType != 6 || len(ds.Digest) != 64 {
		t.Fatalf("DS: %v", ds)
	}
	var text strings.Builder
	counts := map[uint16]int{}
	for _, rr := range signed {
		text.WriteString(rr.String() + "\n")
		counts[rr.Header().Rrtype]++
	}
	// 6 names in the NSEC chain (not the glue ns.sub); RRSIGs: SOA, NS,
	// DNSKEY at the apex, A at ns1, ns2, www, TXT at *.wild and 6 NSECs
	// (none over the delegation's NS).
	if counts[dns.TypeNSEC] != 6 || counts[dns.TypeRRSIG] != 13 || counts[dns.TypeDNSKEY] != 2 {
		t.Fatalf("counts %v in\n%s", counts, text.String())
	}
	anchors := []*dns.DS{ds}
	if err := ValidateZone(parse(t, text.String()), anchors, now); err != nil {
		t.Fatalf("the signed zone: %v\n%s", err, text.String())
	}
	for _, c := range []struct {
		name string
		edit func(string) string
		want string
	}{
		{"changed address", func(s string) string { return strings.Replace(s, "192.0.2.4", "192.0.2.99", 1) }, "www.example. A: bad signature"},
		{"added record", func(s string) string { return s + "ns1.example. 3600 IN A 192.0.2.66\n" }, "ns1.example. A"},
		{"removed NSEC", func(s string) string { return dropLine(s, "www.example.\t300\tIN\tNSEC") }, "www.example. NSEC"},
		{"another KSK", func(s string) string { return s }, "DNSKEY"},
	} {
		a := anchors
		if c.name == "another KSK" {
			other := *ds
			other.Digest = strings.Repeat("00", 32)
			a = []*dns.DS{&other}
		}
		err := ValidateZone(parse(t, c.edit(text.String())), a, now)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %q", c.name, err, c.want)
		}
	}
	if err := ValidateZone(parse(t, text.String()), anchors, now.Add(31*24*time.Hour)); err == nil || !strings.Contains(err.Error(), "validity") {
		t.Errorf("after expiry: %v", err)
	}
}

func dropLine(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestZONEMD: with ZONEMD, the signed zone carries a signed ZONEMD record
// (SIMPLE, SM3 as hash 240) whose digest validates, and a change DNSSEC
// does not see (glue) is caught by the digest; the digest excludes the
// ZONEMD record and its RRSIG and nothing else.
func TestZONEMD(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	signed, ds, err := SignZone(t.Context(), parse(t, testZoneText), localKey(t), localKey(t),
		Options{Inception: now.Add(-time.Hour), Expiration: now.Add(time.Hour), ZONEMD: true})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var md *dns.ZONEMD
	for _, rr := range signed {
		text.WriteString(rr.String() + "\n")
		if x, ok := rr.(*dns.ZONEMD); ok {
			md = x
		}
	}
	if md == nil || md.Serial != 1 || md.Scheme != 1 || md.Hash != 240 || len(md.Digest) != 64 {
		t.Fatalf("ZONEMD: %v", md)
	}
	if !strings.Contains(text.String(), "RRSIG\tZONEMD 17 1") || !strings.Contains(text.String(), "ZONEMD NSEC") && !strings.Contains(text.String(), "NSEC DNSKEY ZONEMD") {
		t.Errorf("ZONEMD not signed or not in the apex NSEC:\n%s", text.String())
	}
	if err := ValidateZone(parse(t, text.String()), []*dns.DS{ds}, now); err != nil {
		t.Fatalf("signed zone with ZONEMD: %v", err)
	}
	glue := strings.Replace(text.String(), "192.0.2.53", "192.0.2.54", 1)
	if err := ValidateZone(parse(t, glue), []*dns.DS{ds}, now); err == nil || !strings.Contains(err.Error(), "ZONEMD: the digest does not match") {
		t.Errorf("changed glue: %v, want the ZONEMD digest refused", err)
	}
	// The digest by hand: SM3 over the canonical records, without ZONEMD's.
	var rest []dns.RR
	for _, rr := range signed {
		if sig, ok := rr.(*dns.RRSIG); rr.Header().Rrtype == dns.TypeZONEMD || ok && sig.TypeCovered == dns.TypeZONEMD {
			continue
		}
		rest = append(rest, rr)
	}
	d1, _ := ZoneDigest(signed, "example.")
	d2, _ := ZoneDigest(rest, "example.")
	if !bytes.Equal(d1, d2) || hex.EncodeToString(d1) != md.Digest {
		t.Errorf("digest %x / %x, record %s", d1, d2, md.Digest)
	}
}

// TestNSEC3: with NSEC3 the zone gets an NSEC3PARAM and an NSEC3 chain
// over its names and empty non-terminals (wild.example., above
// *.wild.example.) instead of NSEC, which validates through master-file
// text; a missing or altered NSEC3 is refused.
func TestNSEC3(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, p := range []NSEC3{{}, {Iterations: 5, Salt: "aabbccdd"}} {
		signed, ds, err := SignZone(t.Context(), parse(t, testZoneText), localKey(t), localKey(t),
			Options{Inception: now.Add(-time.Hour), Expiration: now.Add(time.Hour), NSEC3: &p})
		if err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		counts := map[uint16]int{}
		var first *dns.NSEC3
		for _, rr := range signed {
			text.WriteString(rr.String() + "\n")
			counts[rr.Header().Rrtype]++
			if n, ok := rr.(*dns.NSEC3); ok && first == nil {
				first = n
			}
		}
		if counts[dns.TypeNSEC] != 0 || counts[dns.TypeNSEC3] != 7 || counts[dns.TypeNSEC3PARAM] != 1 {
			t.Fatalf("%+v: counts %v", p, counts)
		}
		if err := ValidateZone(parse(t, text.String()), []*dns.DS{ds}, now); err != nil {
			t.Fatalf("%+v: %v\n%s", p, err, text.String())
		}
		owner := strings.SplitN(first.String(), "\t", 2)[0]
		if err := ValidateZone(parse(t, dropLine(text.String(), owner+"\t300\tIN\tNSEC3")), []*dns.DS{ds}, now); err == nil || !strings.Contains(err.Error(), "NSEC3: missing") {
			t.Errorf("%+v: without %s: %v", p, owner, err)
		}
		altered := strings.Replace(text.String(), " "+first.NextDomain, " "+strings.ToUpper(first.Hdr.Name[:32]), 1)
		if altered == text.String() {
			t.Fatalf("no next hash %s in\n%s", first.NextDomain, text.String())
		}
		if err := ValidateZone(parse(t, altered), []*dns.DS{ds}, now); err == nil || !strings.Contains(err.Error(), "NSEC3") {
			t.Errorf("%+v: altered next hash: %v", p, err)
		}
	}
}

// TestResign: a signed zone (with ZONEMD and NSEC3) signed again with the
// same keys gets the same records, not a second copy of its DNSKEYs,
// NSEC3PARAM or ZONEMD, and validates.
func TestResign(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	zsk, ksk := localKey(t), localKey(t)
	o := Options{Inception: now.Add(-time.Hour), Expiration: now.Add(time.Hour), ZONEMD: true, NSEC3: &NSEC3{}}
	once, _, err := SignZone(t.Context(), parse(t, testZoneText), zsk, ksk, o)
	if err != nil {
		t.Fatal(err)
	}
	twice, ds, err := SignZone(t.Context(), once, zsk, ksk, o)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[uint16]int{}
	for _, rr := range twice {
		counts[rr.Header().Rrtype]++
	}
	if len(twice) != len(once) || counts[dns.TypeDNSKEY] != 2 || counts[dns.TypeZONEMD] != 1 || counts[dns.TypeNSEC3PARAM] != 1 {
		t.Fatalf("%d records after %d, counts %v", len(twice), len(once), counts)
	}
	if err := ValidateZone(twice, []*dns.DS{ds}, now); err != nil {
		t.Fatal(err)
	}
}
