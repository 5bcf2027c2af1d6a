package dnssec

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestSignedDataAsMiekg checks SignedData against an implementation we did
// not write: miekg/dns signs each RRset of the test zone (mixed-case
// names, several records, a wildcard) with ECDSA P-256 over its own RFC
// 4034 signed data, and that signature must verify over ours.
func TestSignedDataAsMiekg(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	z, err := group(parse(t, testZoneText), false)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range z.names {
		for _, s := range z.sets[name] {
			sig := &dns.RRSIG{Hdr: dns.RR_Header{Name: s.rrs[0].Header().Name, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET},
				Algorithm: dns.ECDSAP256SHA256, SignerName: "Example.", KeyTag: 4711, Inception: 1_700_000_000, Expiration: 1_900_000_000}
			if err := sig.Sign(key, s.rrs); err != nil {
				t.Fatal(err)
			}
			data, err := SignedData(sig, s.rrs)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := base64.StdEncoding.DecodeString(sig.Signature)
			h := sha256.Sum256(data)
			if !ecdsa.Verify(&key.PublicKey, h[:], new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])) {
				t.Errorf("%s %s: our signed data differs from miekg/dns's", name, dns.TypeToString[s.typ])
			}
			n++
		}
	}
	if n != 8 {
		t.Fatalf("%d RRsets checked", n)
	}
}

// TestDSInputAsMiekg: the bytes DS hashes with SM3 (owner name and DNSKEY
// RDATA, RFC 4034 section 5.1.4) are those miekg/dns hashes for its
// SHA-256 DS.
func TestDSInputAsMiekg(t *testing.T) {
	k, err := DNSKEY("Example.", FlagKSK, 3600, localKey(t).Public)
	if err != nil {
		t.Fatal(err)
	}
	owner, err := nameWire(k.Hdr.Name)
	if err != nil {
		t.Fatal(err)
	}
	rdata, err := rdataWire(k)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(append(owner, rdata...))
	if want := k.ToDS(dns.SHA256).Digest; !strings.EqualFold(hex.EncodeToString(h[:]), want) {
		t.Fatalf("SHA-256 over our input %x, miekg/dns's DS %s", h, want)
	}
	ds, err := DS(k)
	if err != nil || ds.KeyTag != k.KeyTag() || ds.DigestType != DigestSM3 || ds.Algorithm != SM2SM3 {
		t.Fatalf("DS %v, %v", ds, err)
	}
}
