package cms

import (
	"errors"
	"math/big"
	"strings"
)

// Policy OIDs are kept as DER: encoding/asn1.ObjectIdentifier holds arcs
// up to the size of an int only, and the default policy lives under 2.25
// (ITU-T X.667), whose arcs are 128-bit UUIDs.

var errBadOID = errors.New("cms: malformed OBJECT IDENTIFIER")

// encodeOID returns the DER OBJECT IDENTIFIER of dotted-decimal s, with
// arcs of any size.
func encodeOID(s string) ([]byte, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, errBadOID
	}
	arcs := make([]*big.Int, len(parts))
	for i, p := range parts {
		if p == "" || len(p) > 1 && p[0] == '0' || strings.TrimLeft(p, "0123456789") != "" {
			return nil, errBadOID
		}
		arcs[i], _ = new(big.Int).SetString(p, 10)
	}
	first, second := arcs[0].Int64(), arcs[1]
	if !arcs[0].IsInt64() || first > 2 || first < 2 && second.Cmp(big.NewInt(40)) >= 0 {
		return nil, errBadOID
	}
	var body []byte
	body = appendBase128(body, new(big.Int).Add(big.NewInt(40*first), second))
	for _, a := range arcs[2:] {
		body = appendBase128(body, a)
	}
	return appendTLV(nil, []byte{0x06}, body), nil
}

// appendBase128 appends n as a subidentifier: base 128, most significant
// group first, the high bit set on every octet but the last.
func appendBase128(dst []byte, n *big.Int) []byte {
	groups := []byte{byte(n.Uint64() & 0x7f)}
	for v := new(big.Int).Rsh(n, 7); v.Sign() > 0; v.Rsh(v, 7) {
		groups = append(groups, byte(v.Uint64()&0x7f)|0x80)
	}
	for i := len(groups) - 1; i >= 0; i-- {
		dst = append(dst, groups[i])
	}
	return dst
}

// decodeOID returns the dotted-decimal form of a DER OBJECT IDENTIFIER
// (tag, length and value).
func decodeOID(der []byte) (string, error) {
	if len(der) < 3 || der[0] != 0x06 {
		return "", errBadOID
	}
	body := tlvValue(der)
	if len(body) == 0 || body[len(body)-1]&0x80 != 0 {
		return "", errBadOID
	}
	var arcs []string
	n := new(big.Int)
	start := true
	for _, b := range body {
		if start && b == 0x80 {
			return "", errBadOID // not minimal
		}
		n.Lsh(n, 7).Or(n, big.NewInt(int64(b&0x7f)))
		start = b&0x80 == 0
		if !start {
			continue
		}
		if arcs == nil {
			first := int64(2)
			if n.Cmp(big.NewInt(80)) < 0 {
				first = n.Int64() / 40
			}
			arcs = append(arcs, big.NewInt(first).String(), new(big.Int).Sub(n, big.NewInt(40*first)).String())
		} else {
			arcs = append(arcs, n.String())
		}
		n = new(big.Int)
	}
	return strings.Join(arcs, "."), nil
}
