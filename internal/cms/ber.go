package cms

import (
	"errors"
	"fmt"
)

// maxDepth bounds the nesting of the BER structures toDER accepts.
const maxDepth = 64

var errTruncated = errors.New("cms: truncated BER element")

// toDER converts one BER element (such as the indefinite-length encoding
// BouncyCastle writes by default) to DER as far as CMS needs: definite,
// minimal lengths, and constructed OCTET STRINGs joined into one
// primitive OCTET STRING. It does not reorder SET OF elements; signed
// attributes, the only SET whose encoding matters, are DER already (RFC
// 5652 section 5.3). Anything after the element is an error.
func toDER(in []byte) ([]byte, error) {
	out, rest, err := convertElement(in, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, errors.New("cms: trailing data after the BER element")
	}
	return out, nil
}

// convertElement converts the element at the start of in and returns its
// DER and what follows it.
func convertElement(in []byte, depth int) (der, rest []byte, err error) {
	if depth > maxDepth {
		return nil, nil, errors.New("cms: BER nesting is too deep")
	}
	tagLen, constructed, err := identifierLen(in)
	if err != nil {
		return nil, nil, err
	}
	tag, body := in[:tagLen], in[tagLen:]
	length, lenLen, indefinite, err := readLength(body)
	if err != nil {
		return nil, nil, err
	}
	body = body[lenLen:]
	if !constructed {
		if indefinite || length > len(body) {
			return nil, nil, errTruncated
		}
		return appendTLV(nil, tag, body[:length]), body[length:], nil
	}
	var content []byte
	if !indefinite {
		if length > len(body) {
			return nil, nil, errTruncated
		}
		content, rest = body[:length], body[length:]
	} else {
		content = body
	}
	var children [][]byte
	for {
		if indefinite {
			if len(content) < 2 {
				return nil, nil, errTruncated
			}
			if content[0] == 0 && content[1] == 0 {
				rest = content[2:]
				break
			}
		} else if len(content) == 0 {
			break
		}
		var child []byte
		if child, content, err = convertElement(content, depth+1); err != nil {
			return nil, nil, err
		}
		children = append(children, child)
	}
	if tag[0] == 0x24 && tagLen == 1 { // constructed OCTET STRING
		var joined []byte
		for _, c := range children {
			if c[0] != 0x04 {
				return nil, nil, errors.New("cms: a constructed OCTET STRING holds something else")
			}
			joined = append(joined, tlvValue(c)...)
		}
		return appendTLV(nil, []byte{0x04}, joined), rest, nil
	}
	var joined []byte
	for _, c := range children {
		joined = append(joined, c...)
	}
	return appendTLV(nil, tag, joined), rest, nil
}

// identifierLen returns the length of the identifier octets at the start
// of in and whether they mark a constructed encoding.
func identifierLen(in []byte) (int, bool, error) {
	if len(in) == 0 {
		return 0, false, errTruncated
	}
	constructed := in[0]&0x20 != 0
	if in[0]&0x1f != 0x1f {
		return 1, constructed, nil
	}
	for i := 1; i < len(in) && i <= 5; i++ {
		if in[i]&0x80 == 0 {
			return i + 1, constructed, nil
		}
	}
	return 0, false, errors.New("cms: bad BER tag")
}

// readLength reads the length octets at the start of in.
func readLength(in []byte) (length, n int, indefinite bool, err error) {
	if len(in) == 0 {
		return 0, 0, false, errTruncated
	}
	b := in[0]
	switch {
	case b < 0x80:
		return int(b), 1, false, nil
	case b == 0x80:
		return 0, 1, true, nil
	case b > 0x84:
		return 0, 0, false, fmt.Errorf("cms: BER length of %d octets is too long", b&0x7f)
	}
	n = int(b & 0x7f)
	if len(in) < 1+n {
		return 0, 0, false, errTruncated
	}
	for _, c := range in[1 : 1+n] {
		length = length<<8 | int(c)
	}
	if length < 0 || length > 1<<30 {
		return 0, 0, false, errors.New("cms: BER length is too large")
	}
	return length, 1 + n, false, nil
}

// appendTLV appends an element with identifier octets tag, a minimal
// definite length and value to dst.
func appendTLV(dst, tag, value []byte) []byte {
	dst = append(dst, tag...)
	n := len(value)
	switch {
	case n < 0x80:
		dst = append(dst, byte(n))
	case n < 1<<8:
		dst = append(dst, 0x81, byte(n))
	case n < 1<<16:
		dst = append(dst, 0x82, byte(n>>8), byte(n))
	case n < 1<<24:
		dst = append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, value...)
}

// tlvValue returns the value of a DER element made by appendTLV.
func tlvValue(der []byte) []byte {
	tagLen, _, _ := identifierLen(der)
	_, lenLen, _, _ := readLength(der[tagLen:])
	return der[tagLen+lenLen:]
}
