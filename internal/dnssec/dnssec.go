// Package dnssec signs and validates DNS zones with SM2 and SM3 as RFC
// 9563 defines them: DNSKEY and RRSIG algorithm 17 (SM2SM3), the public
// key as the 64 octets x‖y of the SM2 point, a signature as the 64 octets
// r‖s of an SM2 signature (GB/T 32918, with the default distinguishing
// identifier 1234567812345678) over the RRSIG signed data of RFC 4034
// section 3.1.8.1, and DS digest type 6: SM3 of the owner name and the
// DNSKEY RDATA. The private keys stay where they are: signing goes through
// a Signer, such as a key in mima.
package dnssec

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/miekg/dns"
)

// SM2SM3 is the DNSSEC algorithm number of SM2 with SM3 (RFC 9563
// section 6, IANA DNS Security Algorithm Numbers).
const SM2SM3 = 17

// DigestSM3 is the DS digest type of SM3 (RFC 9563 section 6, IANA
// Delegation Signer Digest Algorithms).
const DigestSM3 = 6

// DNSKEY flags (RFC 4034 section 2.1.1, RFC 3757).
const (
	FlagZSK = 256 // Zone Key
	FlagKSK = 257 // Zone Key and Secure Entry Point
)

// DNSKEY is the DNSKEY record of zone for an SM2 public key.
func DNSKEY(zone string, flags uint16, ttl uint32, pub *ecdsa.PublicKey) (*dns.DNSKEY, error) {
	// The SubjectPublicKeyInfo ends with the uncompressed point 04‖x‖y.
	spki, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil || len(spki) < 65 || spki[len(spki)-65] != 4 || !sm2.IsSM2PublicKey(pub) {
		return nil, errors.New("dnssec: a zone key must be an SM2 public key")
	}
	return &dns.DNSKEY{Hdr: dns.RR_Header{Name: dns.CanonicalName(zone), Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: ttl},
		Flags: flags, Protocol: 3, Algorithm: SM2SM3, PublicKey: base64.StdEncoding.EncodeToString(spki[len(spki)-64:])}, nil
}

// PublicKey is the SM2 public key of an algorithm-17 DNSKEY.
func PublicKey(k *dns.DNSKEY) (*ecdsa.PublicKey, error) {
	point, err := base64.StdEncoding.DecodeString(k.PublicKey)
	if err != nil || k.Algorithm != SM2SM3 || len(point) != 64 {
		return nil, fmt.Errorf("dnssec: DNSKEY %d is not an SM2 key of 64 octets", k.KeyTag())
	}
	pub, err := sm2.NewPublicKey(append([]byte{4}, point...))
	if err != nil {
		return nil, fmt.Errorf("dnssec: DNSKEY %d: %w", k.KeyTag(), err)
	}
	return pub, nil
}

// DS is the DS record of a DNSKEY with digest type 6 (SM3).
func DS(k *dns.DNSKEY) (*dns.DS, error) {
	owner, err := nameWire(k.Hdr.Name)
	if err != nil {
		return nil, err
	}
	rdata, err := rdataWire(k)
	if err != nil {
		return nil, err
	}
	h := sm3.New()
	h.Write(owner)
	h.Write(rdata)
	return &dns.DS{Hdr: dns.RR_Header{Name: k.Hdr.Name, Rrtype: dns.TypeDS, Class: dns.ClassINET, Ttl: k.Hdr.Ttl},
		KeyTag: k.KeyTag(), Algorithm: k.Algorithm, DigestType: DigestSM3, Digest: strings.ToUpper(hex.EncodeToString(h.Sum(nil)))}, nil
}

// nameWire is a name in canonical (lower case, uncompressed) wire form.
func nameWire(name string) ([]byte, error) {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(dns.CanonicalName(name), buf, 0, nil, false)
	if err != nil {
		return nil, fmt.Errorf("dnssec: name %q: %w", name, err)
	}
	return buf[:n], nil
}

// rdataWire is the RDATA of rr in wire form.
func rdataWire(rr dns.RR) ([]byte, error) {
	buf := make([]byte, dns.Len(rr)+256)
	n, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		return nil, fmt.Errorf("dnssec: %s: %w", rr.Header().String(), err)
	}
	return buf[n-int(rr.Header().Rdlength) : n], nil
}

// canonical is rr in the canonical form of RFC 4034 section 6.2 (as
// amended by RFC 6840 section 5.1) with TTL ttl: owner and the domain
// names in the RDATA of the listed types in lower case.
func canonical(rr dns.RR, ttl uint32) dns.RR {
	c := dns.Copy(rr)
	h := c.Header()
	h.Name, h.Ttl = strings.ToLower(h.Name), ttl
	switch x := c.(type) {
	case *dns.NS:
		x.Ns = strings.ToLower(x.Ns)
	case *dns.CNAME:
		x.Target = strings.ToLower(x.Target)
	case *dns.DNAME:
		x.Target = strings.ToLower(x.Target)
	case *dns.PTR:
		x.Ptr = strings.ToLower(x.Ptr)
	case *dns.MX:
		x.Mx = strings.ToLower(x.Mx)
	case *dns.SRV:
		x.Target = strings.ToLower(x.Target)
	case *dns.SOA:
		x.Ns, x.Mbox = strings.ToLower(x.Ns), strings.ToLower(x.Mbox)
	case *dns.RRSIG:
		x.SignerName = strings.ToLower(x.SignerName)
	}
	return c
}

// SignedData is the data an RRSIG signs (RFC 4034 section 3.1.8.1): its
// RDATA without the signature, then the RRset in canonical form and
// order, owner names replaced by the wildcard the RRSIG's labels imply.
func SignedData(sig *dns.RRSIG, rrset []dns.RR) ([]byte, error) {
	signer, err := nameWire(sig.SignerName)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	var fixed [18]byte
	binary.BigEndian.PutUint16(fixed[0:], sig.TypeCovered)
	fixed[2], fixed[3] = sig.Algorithm, sig.Labels
	binary.BigEndian.PutUint32(fixed[4:], sig.OrigTtl)
	binary.BigEndian.PutUint32(fixed[8:], sig.Expiration)
	binary.BigEndian.PutUint32(fixed[12:], sig.Inception)
	binary.BigEndian.PutUint16(fixed[16:], sig.KeyTag)
	out.Write(fixed[:])
	out.Write(signer)
	var wires [][]byte
	for _, rr := range rrset {
		c := canonical(rr, sig.OrigTtl)
		if labels := dns.CountLabel(c.Header().Name); int(sig.Labels) < labels {
			c.Header().Name = "*." + strings.Join(dns.SplitDomainName(c.Header().Name)[labels-int(sig.Labels):], ".") + "."
		}
		buf := make([]byte, dns.Len(c)+256)
		n, err := dns.PackRR(c, buf, 0, nil, false)
		if err != nil {
			return nil, fmt.Errorf("dnssec: %s: %w", rr.Header().String(), err)
		}
		wires = append(wires, buf[:n])
	}
	// The owner, type, class and TTL are the same in every record: order
	// by the RDATA, which is ordering the whole record; drop duplicates.
	slices.SortFunc(wires, bytes.Compare)
	for _, w := range slices.CompactFunc(wires, bytes.Equal) {
		out.Write(w)
	}
	return out.Bytes(), nil
}

// Signature converts an ASN.1 DER SM2 signature to the 64 octets r‖s of an
// RRSIG.
func Signature(der []byte) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) != 0 || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 {
		return nil, errors.New("dnssec: not a DER SM2 signature")
	}
	out := make([]byte, 64)
	if rs.R.BitLen() > 256 || rs.S.BitLen() > 256 {
		return nil, errors.New("dnssec: not an SM2 signature")
	}
	rs.R.FillBytes(out[:32])
	rs.S.FillBytes(out[32:])
	return out, nil
}

// Verify checks an algorithm-17 RRSIG over rrset with key, signature and
// validity period at now (RFC 1982 serial arithmetic, as
// dns.RRSIG.ValidityPeriod does).
func Verify(sig *dns.RRSIG, key *dns.DNSKEY, rrset []dns.RR, now time.Time) error {
	if sig.Algorithm != SM2SM3 || key.Algorithm != SM2SM3 || sig.KeyTag != key.KeyTag() ||
		!strings.EqualFold(dns.CanonicalName(sig.SignerName), dns.CanonicalName(key.Hdr.Name)) {
		return errors.New("RRSIG does not name this key")
	}
	pub, err := PublicKey(key)
	if err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(sig.Signature)
	if err != nil || len(raw) != 64 {
		return errors.New("RRSIG signature is not 64 octets r‖s")
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])})
	if err != nil {
		return err
	}
	data, err := SignedData(sig, rrset)
	if err != nil {
		return err
	}
	if !sm2.VerifyASN1WithSM2(pub, nil, data, der) {
		return errors.New("bad signature")
	}
	if !sig.ValidityPeriod(now) {
		return fmt.Errorf("outside its validity period %s to %s", dns.TimeToString(sig.Inception), dns.TimeToString(sig.Expiration))
	}
	return nil
}

// Signer signs many messages with one SM2 key (with SM3 and the default
// identifier), returning ASN.1 DER signatures, in order.
type Signer func(ctx context.Context, messages [][]byte) ([][]byte, error)
