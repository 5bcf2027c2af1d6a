package dnssec

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/miekg/dns"
)

// Key is a zone key: its public half and a Signer for the private half.
type Key struct {
	Public *ecdsa.PublicKey
	Sign   Signer
}

// Options are the validity period of the signatures SignZone makes and
// whether it adds a ZONEMD record.
type Options struct {
	Inception, Expiration time.Time
	// ZONEMD adds a ZONEMD record (RFC 8976) at the apex, scheme SIMPLE,
	// hash HashSM3, signed like the other RRsets.
	ZONEMD bool
	// NSEC3, when set, makes an NSEC3 chain (RFC 5155) instead of NSEC.
	NSEC3 *NSEC3
}

// NSEC3 are the parameters of an NSEC3 chain: SHA-1 (the only hash RFC
// 5155 defines), no opt-out, Iterations extra iterations and a hex Salt
// ("" for none; RFC 9276 recommends 0 iterations and no salt).
type NSEC3 struct {
	Iterations uint16
	Salt       string
}

// rrset is the records of one owner name and type.
type rrset struct {
	name string // lower case
	typ  uint16
	rrs  []dns.RR
}

// zone is a zone's records grouped into RRsets, in canonical order of
// names, and the names that are delegations or below them (glue).
type zone struct {
	origin string
	soa    *dns.SOA
	names  []string              // canonical order
	sets   map[string][]*rrset   // by name, in type order
	cut    map[string]bool       // delegation points
	glue   map[string]bool       // names below a delegation point
	sigs   map[string][]dns.RR   // RRSIGs by name and covered type ("name/type")
	nsec   map[string]*dns.NSEC  // by name
	nsec3  map[string]*dns.NSEC3 // by (hashed) owner name
}

// group reads rrs into a zone. When keep, RRSIG, NSEC and NSEC3 records
// are kept apart (sigs, nsec, nsec3) for validation; otherwise they are
// dropped with NSEC3PARAM and ZONEMD records, which signing makes anew.
func group(rrs []dns.RR, keep bool) (*zone, error) {
	z := &zone{sets: map[string][]*rrset{}, cut: map[string]bool{}, glue: map[string]bool{}, sigs: map[string][]dns.RR{}, nsec: map[string]*dns.NSEC{},
		nsec3: map[string]*dns.NSEC3{}}
	for _, rr := range rrs {
		if soa, ok := rr.(*dns.SOA); ok {
			if z.soa != nil {
				return nil, errors.New("dnssec: the zone has more than one SOA record")
			}
			z.soa, z.origin = soa, strings.ToLower(soa.Hdr.Name)
		}
	}
	if z.soa == nil {
		return nil, errors.New("dnssec: the zone has no SOA record")
	}
	for _, rr := range rrs {
		h := rr.Header()
		name := strings.ToLower(h.Name)
		if !dns.IsSubDomain(z.origin, name) {
			return nil, fmt.Errorf("dnssec: %s is outside the zone %s", h.Name, z.origin)
		}
		switch x := rr.(type) {
		case *dns.RRSIG:
			if keep {
				key := name + "/" + dns.TypeToString[x.TypeCovered]
				z.sigs[key] = append(z.sigs[key], rr)
			}
			continue
		case *dns.NSEC:
			if keep {
				z.nsec[name] = x
			}
			continue
		case *dns.NSEC3:
			if keep {
				z.nsec3[name] = x
			}
			continue
		case *dns.NSEC3PARAM, *dns.ZONEMD:
			if !keep {
				continue
			}
		}
		sets := z.sets[name]
		i := slices.IndexFunc(sets, func(s *rrset) bool { return s.typ == h.Rrtype })
		if i < 0 {
			sets = append(sets, &rrset{name: name, typ: h.Rrtype})
			i = len(sets) - 1
		}
		sets[i].rrs = append(sets[i].rrs, rr)
		z.sets[name] = sets
		if h.Rrtype == dns.TypeNS && name != z.origin {
			z.cut[name] = true
		}
	}
	for name := range z.sets {
		z.names = append(z.names, name)
		for cut := range z.cut {
			if name != cut && dns.IsSubDomain(cut, name) {
				z.glue[name] = true
			}
		}
	}
	slices.SortFunc(z.names, compareNames)
	for _, sets := range z.sets {
		slices.SortFunc(sets, func(a, b *rrset) int { return int(a.typ) - int(b.typ) })
	}
	return z, nil
}

// compareNames orders names canonically (RFC 4034 section 6.1): by their
// labels from the root, each compared as lower-case octets.
func compareNames(a, b string) int {
	la, lb := dns.SplitDomainName(a), dns.SplitDomainName(b)
	for i := 1; i <= len(la) && i <= len(lb); i++ {
		if c := strings.Compare(unescape(la[len(la)-i]), unescape(lb[len(lb)-i])); c != 0 {
			return c
		}
	}
	return len(la) - len(lb)
}

// unescape is a label's octets in lower case.
func unescape(label string) string {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(label+".", buf, 0, nil, false)
	if err != nil || n < 2 {
		return strings.ToLower(label)
	}
	return strings.ToLower(string(buf[1 : n-1]))
}

// signed reports whether the RRset is signed in its zone: not glue, not
// the NS records of a delegation.
func (z *zone) signed(s *rrset) bool {
	return !z.glue[s.name] && (!z.cut[s.name] || s.typ == dns.TypeDS)
}

// chain is the names of the NSEC chain: every name but glue.
func (z *zone) chain() []string {
	return slices.DeleteFunc(slices.Clone(z.names), func(n string) bool { return z.glue[n] })
}

// nsecTypes is the type bitmap of the NSEC at name: its types, RRSIG and
// NSEC (RFC 4034 section 4.1.2).
func (z *zone) nsecTypes(name string) []uint16 {
	types := []uint16{dns.TypeRRSIG, dns.TypeNSEC}
	for _, s := range z.sets[name] {
		types = append(types, s.typ)
	}
	slices.Sort(types)
	return slices.Compact(types)
}

// SignZone signs the zone rrs (master-file records, one SOA) with the zone
// signing key zsk and the key signing key ksk: it adds their DNSKEY records
// (flags 256 and 257), an NSEC chain, and an RRSIG for every authoritative
// RRset (the DNSKEY RRset by ksk, the others by zsk), replacing RRSIG, NSEC
// and NSEC3 records the input has. It returns the signed zone in canonical
// order and the DS record of ksk for the parent. All signatures of a key
// are asked of its Signer in one call.
func SignZone(ctx context.Context, rrs []dns.RR, zsk, ksk Key, o Options) ([]dns.RR, *dns.DS, error) {
	z, err := group(rrs, false)
	if err != nil {
		return nil, nil, err
	}
	ttl := z.soa.Hdr.Ttl
	zkey, err := DNSKEY(z.origin, FlagZSK, ttl, zsk.Public)
	if err != nil {
		return nil, nil, err
	}
	kkey, err := DNSKEY(z.origin, FlagKSK, ttl, ksk.Public)
	if err != nil {
		return nil, nil, err
	}
	keys := z.rrsetOf(z.origin, dns.TypeDNSKEY)
	for _, k := range []dns.RR{zkey, kkey} {
		if !slices.ContainsFunc(keys, func(rr dns.RR) bool { return dns.IsDuplicate(rr, k) }) {
			keys = append(keys, k)
		}
	}
	z.put(z.origin, dns.TypeDNSKEY, keys)
	zonemd := &dns.ZONEMD{Hdr: dns.RR_Header{Name: z.origin, Rrtype: dns.TypeZONEMD, Class: dns.ClassINET, Ttl: ttl},
		Serial: z.soa.Serial, Scheme: 1, Hash: HashSM3, Digest: strings.Repeat("00", 32)}
	if o.ZONEMD {
		z.put(z.origin, dns.TypeZONEMD, []dns.RR{zonemd})
	}
	negTTL := min(ttl, z.soa.Minttl) // RFC 9077
	if o.NSEC3 != nil {
		if _, err := hex.DecodeString(o.NSEC3.Salt); err != nil || len(o.NSEC3.Salt) > 510 {
			return nil, nil, fmt.Errorf("dnssec: the NSEC3 salt must be hex of at most 255 octets")
		}
		param := &dns.NSEC3PARAM{Hdr: dns.RR_Header{Name: z.origin, Rrtype: dns.TypeNSEC3PARAM, Class: dns.ClassINET, Ttl: negTTL},
			Hash: dns.SHA1, Iterations: o.NSEC3.Iterations, SaltLength: uint8(len(o.NSEC3.Salt) / 2), Salt: strings.ToUpper(o.NSEC3.Salt)}
		z.put(z.origin, dns.TypeNSEC3PARAM, []dns.RR{param})
		for _, n := range z.nsec3Chain(param, negTTL) {
			z.nsec3[n.Hdr.Name] = n
		}
	} else {
		chain := z.chain()
		for i, name := range chain {
			z.nsec[name] = &dns.NSEC{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: negTTL},
				NextDomain: chain[(i+1)%len(chain)], TypeBitMap: z.nsecTypes(name)}
		}
	}
	type job struct {
		sig *dns.RRSIG
		set []dns.RR
	}
	var byZSK, byKSK []job
	for _, name := range z.names {
		for _, s := range z.sets[name] {
			if !z.signed(s) || s.typ == dns.TypeZONEMD {
				continue
			}
			key := zkey
			if s.typ == dns.TypeDNSKEY {
				key = kkey
			}
			j := job{z.template(s.name, s.typ, s.rrs[0].Header().Ttl, key, o), s.rrs}
			if key == kkey {
				byKSK = append(byKSK, j)
			} else {
				byZSK = append(byZSK, j)
			}
		}
		if n, ok := z.nsec[name]; ok {
			byZSK = append(byZSK, job{z.template(name, dns.TypeNSEC, n.Hdr.Ttl, zkey, o), []dns.RR{n}})
		}
	}
	for _, owner := range slices.Sorted(maps.Keys(z.nsec3)) {
		n := z.nsec3[owner]
		byZSK = append(byZSK, job{z.template(owner, dns.TypeNSEC3, n.Hdr.Ttl, zkey, o), []dns.RR{n}})
	}
	sign := func(jobs []job, key Key) error {
		data := make([][]byte, len(jobs))
		for i, j := range jobs {
			if data[i], err = SignedData(j.sig, j.set); err != nil {
				return err
			}
		}
		ders, err := key.Sign(ctx, data)
		if err != nil {
			return fmt.Errorf("dnssec: sign: %w", err)
		}
		if len(ders) != len(data) {
			return fmt.Errorf("dnssec: sign: %d signatures for %d RRsets", len(ders), len(data))
		}
		for i, j := range jobs {
			raw, err := Signature(ders[i])
			if err != nil {
				return err
			}
			j.sig.Signature = base64.StdEncoding.EncodeToString(raw)
			name := j.sig.Hdr.Name + "/" + dns.TypeToString[j.sig.TypeCovered]
			z.sigs[name] = append(z.sigs[name], j.sig)
		}
		return nil
	}
	if err := sign(byZSK, zsk); err != nil {
		return nil, nil, err
	}
	if err := sign(byKSK, ksk); err != nil {
		return nil, nil, err
	}
	if o.ZONEMD {
		// The digest covers every record but the apex ZONEMD and its
		// RRSIG, so it is taken once the rest is signed (RFC 8976 3.3).
		digest, err := ZoneDigest(z.records(), z.origin)
		if err != nil {
			return nil, nil, err
		}
		zonemd.Digest = hex.EncodeToString(digest)
		if err := sign([]job{{z.template(z.origin, dns.TypeZONEMD, ttl, zkey, o), []dns.RR{zonemd}}}, zsk); err != nil {
			return nil, nil, err
		}
	}
	ds, err := DS(kkey)
	if err != nil {
		return nil, nil, err
	}
	return z.records(), ds, nil
}

// rrsetOf is the records of name and type.
func (z *zone) rrsetOf(name string, typ uint16) []dns.RR {
	for _, s := range z.sets[name] {
		if s.typ == typ {
			return s.rrs
		}
	}
	return nil
}

// put sets the records of name and type.
func (z *zone) put(name string, typ uint16, rrs []dns.RR) {
	for _, s := range z.sets[name] {
		if s.typ == typ {
			s.rrs = rrs
			return
		}
	}
	z.sets[name] = append(z.sets[name], &rrset{name: name, typ: typ, rrs: rrs})
	slices.SortFunc(z.sets[name], func(a, b *rrset) int { return int(a.typ) - int(b.typ) })
}

// template is the RRSIG of an RRset before its signature.
func (z *zone) template(name string, typ uint16, ttl uint32, key *dns.DNSKEY, o Options) *dns.RRSIG {
	labels := dns.CountLabel(name)
	if strings.HasPrefix(name, "*.") {
		labels--
	}
	return &dns.RRSIG{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: ttl},
		TypeCovered: typ, Algorithm: SM2SM3, Labels: uint8(labels), OrigTtl: ttl,
		Expiration: uint32(o.Expiration.Unix()), Inception: uint32(o.Inception.Unix()), KeyTag: key.KeyTag(), SignerName: z.origin}
}

// records is the zone in canonical order: each RRset followed by its
// RRSIGs, the NSEC and its RRSIGs after a name's RRsets.
func (z *zone) records() []dns.RR {
	var out []dns.RR
	for _, name := range z.names {
		for _, s := range z.sets[name] {
			out = append(out, s.rrs...)
			out = append(out, z.sigs[name+"/"+dns.TypeToString[s.typ]]...)
		}
		if n, ok := z.nsec[name]; ok {
			out = append(out, n)
			out = append(out, z.sigs[name+"/NSEC"]...)
		}
	}
	for _, owner := range slices.Sorted(maps.Keys(z.nsec3)) {
		out = append(out, z.nsec3[owner])
		out = append(out, z.sigs[owner+"/NSEC3"]...)
	}
	return out
}

// nsec3Chain is the NSEC3 chain (RFC 5155 section 7.1) of the zone under
// param: one record for every name of the NSEC chain and every empty
// non-terminal above one, in hash order, each naming the next hash and
// the types at its name.
func (z *zone) nsec3Chain(param *dns.NSEC3PARAM, ttl uint32) []*dns.NSEC3 {
	names := map[string]bool{}
	for _, n := range z.chain() {
		for name := n; !names[name]; {
			names[name] = true
			if name == z.origin {
				break
			}
			name = name[dns.Split(name)[1]:]
		}
	}
	type hashed struct{ hash, name string }
	var hs []hashed
	for name := range names {
		hs = append(hs, hashed{dns.HashName(name, param.Hash, param.Iterations, param.Salt), name})
	}
	slices.SortFunc(hs, func(a, b hashed) int { return strings.Compare(a.hash, b.hash) })
	out := make([]*dns.NSEC3, len(hs))
	for i, h := range hs {
		var types []uint16
		for _, s := range z.sets[h.name] {
			types = append(types, s.typ)
			if z.signed(s) {
				types = append(types, dns.TypeRRSIG)
			}
		}
		slices.Sort(types)
		out[i] = &dns.NSEC3{Hdr: dns.RR_Header{Name: strings.ToLower(h.hash) + "." + z.origin, Rrtype: dns.TypeNSEC3, Class: dns.ClassINET, Ttl: ttl},
			Hash: param.Hash, Iterations: param.Iterations, SaltLength: param.SaltLength, Salt: param.Salt,
			HashLength: 20, NextDomain: hs[(i+1)%len(hs)].hash, TypeBitMap: slices.Compact(types)}
	}
	return out
}

// ValidateZone validates a signed zone from its trust anchors (the DS
// records of its parent) at now: a DNSKEY that a DS names must sign the
// DNSKEY RRset, every authoritative RRset must have an RRSIG that a zone
// key of that set validates, and the NSEC chain must name every owner
// name with its types, in canonical order. The error names the first bad
// RRset in canonical order.
func ValidateZone(rrs []dns.RR, anchors []*dns.DS, now time.Time) error {
	z, err := group(rrs, true)
	if err != nil {
		return err
	}
	var keys []*dns.DNSKEY
	for _, rr := range z.rrsetOf(z.origin, dns.TypeDNSKEY) {
		keys = append(keys, rr.(*dns.DNSKEY))
	}
	validBy := func(name string, typ uint16, set []dns.RR, by []*dns.DNSKEY) error {
		sigs := z.sigs[name+"/"+dns.TypeToString[typ]]
		if len(sigs) == 0 {
			return errors.New("no RRSIG")
		}
		var last error
		for _, s := range sigs {
			sig := s.(*dns.RRSIG)
			last = fmt.Errorf("no trusted DNSKEY has key tag %d", sig.KeyTag)
			for _, k := range by {
				if k.KeyTag() != sig.KeyTag {
					continue
				}
				if last = Verify(sig, k, set, now); last == nil {
					return nil
				}
			}
		}
		return last
	}
	var entry []*dns.DNSKEY
	for _, k := range keys {
		ds, err := DS(k)
		if err != nil {
			continue
		}
		for _, a := range anchors {
			if a.KeyTag == ds.KeyTag && a.Algorithm == ds.Algorithm && a.DigestType == DigestSM3 && strings.EqualFold(a.Digest, ds.Digest) &&
				strings.EqualFold(a.Hdr.Name, ds.Hdr.Name) {
				entry = append(entry, k)
			}
		}
	}
	if len(entry) == 0 {
		return fmt.Errorf("%s DNSKEY: no key matches a trust anchor (DS, digest type %d)", z.origin, DigestSM3)
	}
	if err := validBy(z.origin, dns.TypeDNSKEY, z.rrsetOf(z.origin, dns.TypeDNSKEY), entry); err != nil {
		return fmt.Errorf("%s DNSKEY: %w", z.origin, err)
	}
	zoneKeys := slices.DeleteFunc(slices.Clone(keys), func(k *dns.DNSKEY) bool { return k.Flags&FlagZSK == 0 })
	params := z.rrsetOf(z.origin, dns.TypeNSEC3PARAM)
	useNSEC3 := len(params) > 0
	chain := z.chain()
	for i, name := range chain {
		for _, s := range z.sets[name] {
			if !z.signed(s) {
				continue
			}
			if err := validBy(name, s.typ, s.rrs, zoneKeys); err != nil {
				return fmt.Errorf("%s %s: %w", name, dns.TypeToString[s.typ], err)
			}
		}
		if useNSEC3 {
			continue
		}
		n, ok := z.nsec[name]
		if !ok {
			return fmt.Errorf("%s NSEC: missing", name)
		}
		if next := chain[(i+1)%len(chain)]; !strings.EqualFold(n.NextDomain, next) || !slices.Equal(n.TypeBitMap, z.nsecTypes(name)) {
			return fmt.Errorf("%s NSEC: names %s %v, want %s %v", name, n.NextDomain, typeNames(n.TypeBitMap), next, typeNames(z.nsecTypes(name)))
		}
		if err := validBy(name, dns.TypeNSEC, []dns.RR{n}, zoneKeys); err != nil {
			return fmt.Errorf("%s NSEC: %w", name, err)
		}
	}
	if useNSEC3 {
		for _, want := range z.nsec3Chain(params[0].(*dns.NSEC3PARAM), 0) {
			owner := want.Hdr.Name
			got, ok := z.nsec3[owner]
			if !ok {
				return fmt.Errorf("%s NSEC3: missing", owner)
			}
			if !strings.EqualFold(got.NextDomain, want.NextDomain) || !slices.Equal(got.TypeBitMap, want.TypeBitMap) {
				return fmt.Errorf("%s NSEC3: names %s %v, want %s %v", owner, got.NextDomain, typeNames(got.TypeBitMap), want.NextDomain, typeNames(want.TypeBitMap))
			}
			if err := validBy(owner, dns.TypeNSEC3, []dns.RR{got}, zoneKeys); err != nil {
				return fmt.Errorf("%s NSEC3: %w", owner, err)
			}
		}
	}
	// Every RRset is signed; the ZONEMD digest also covers what DNSSEC
	// does not sign (glue, delegations' NS).
	if md := z.rrsetOf(z.origin, dns.TypeZONEMD); len(md) > 0 {
		if err := checkZONEMD(rrs, z.origin, md); err != nil {
			return fmt.Errorf("%s ZONEMD: %w", z.origin, err)
		}
	}
	return nil
}

func typeNames(types []uint16) []string {
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = dns.TypeToString[t]
	}
	return out
}

// HashSM3 is the ZONEMD hash algorithm number mima gives SM3: 240, the
// first of the private-use numbers (RFC 8976 section 5.3); IANA has
// assigned SM3 none.
const HashSM3 = 240

// ZoneDigest is the SIMPLE-scheme ZONEMD digest (RFC 8976 section 3.3.1)
// of a zone with SM3: every record but the apex ZONEMD RRset and the
// RRSIGs covering it, in canonical form with its own TTL, ordered by
// owner name, type and RDATA, duplicates once.
func ZoneDigest(rrs []dns.RR, origin string) ([]byte, error) {
	type rec struct {
		name string
		typ  uint16
		wire []byte
		rd   int // where the RDATA starts
	}
	recs := make([]rec, 0, len(rrs))
	for _, rr := range rrs {
		h := rr.Header()
		apex := strings.EqualFold(h.Name, origin)
		if sig, ok := rr.(*dns.RRSIG); apex && (h.Rrtype == dns.TypeZONEMD || ok && sig.TypeCovered == dns.TypeZONEMD) {
			continue
		}
		c := canonical(rr, h.Ttl)
		buf := make([]byte, dns.Len(c)+256)
		n, err := dns.PackRR(c, buf, 0, nil, false)
		if err != nil {
			return nil, fmt.Errorf("dnssec: %s: %w", h.String(), err)
		}
		recs = append(recs, rec{c.Header().Name, h.Rrtype, buf[:n], n - int(c.Header().Rdlength)})
	}
	slices.SortFunc(recs, func(a, b rec) int {
		if c := compareNames(a.name, b.name); c != 0 {
			return c
		}
		if a.typ != b.typ {
			return int(a.typ) - int(b.typ)
		}
		return bytes.Compare(a.wire[a.rd:], b.wire[b.rd:])
	})
	h := sm3.New()
	var last []byte
	for _, r := range recs {
		if !bytes.Equal(r.wire, last) {
			h.Write(r.wire)
		}
		last = r.wire
	}
	return h.Sum(nil), nil
}

// checkZONEMD compares the zone's SM3 digest with its ZONEMD records: one
// of scheme SIMPLE and hash HashSM3 must match.
func checkZONEMD(rrs []dns.RR, origin string, mds []dns.RR) error {
	got, err := ZoneDigest(rrs, origin)
	if err != nil {
		return err
	}
	for _, rr := range mds {
		if md := rr.(*dns.ZONEMD); md.Scheme == 1 && md.Hash == HashSM3 {
			if strings.EqualFold(hex.EncodeToString(got), md.Digest) {
				return nil
			}
			return errors.New("the digest does not match the zone")
		}
	}
	return fmt.Errorf("no record of scheme SIMPLE (1) with hash SM3 (%d)", HashSM3)
}
