package coer

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"reflect"
)

// Marshal returns the COER encoding of v: a struct, a pointer to one, or any
// other supported type (see the package documentation).
func Marshal(v any) ([]byte, error) {
	if v == nil {
		return nil, errors.New("coer: Marshal(nil)")
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer {
		// Work on an addressable copy, so that pointer-receiver
		// MarshalCOER methods and byte arrays can be reached.
		p := reflect.New(rv.Type())
		p.Elem().Set(rv)
		rv = p.Elem()
	}
	b, err := appendValue(make([]byte, 0, 256), rv, opts{}, 0)
	if err != nil {
		return nil, at(err, rootName(rv.Type()))
	}
	return b, nil
}

// appendValue appends the encoding of v to b. v is addressable.
func appendValue(b []byte, v reflect.Value, o opts, depth int) ([]byte, error) {
	if depth++; depth > maxDepth {
		return b, errTooDeep
	}
	if o.open {
		o.open = false
		return appendWrapped(b, v, o, depth)
	}
	ti := getTypeInfo(v.Type())
	if ti.marshaler {
		enc, err := v.Addr().Interface().(Marshaler).MarshalCOER()
		return append(b, enc...), err
	}
	if ti.err != nil {
		return b, ti.err
	}
	switch ti.kind {
	case kPtr:
		if v.IsNil() {
			return b, errors.New("nil pointer for a mandatory value")
		}
		return appendValue(b, v.Elem(), o, depth)
	case kBool:
		if v.Bool() {
			return append(b, 0xff), nil
		}
		return append(b, 0x00), nil
	case kUint:
		return appendInt(b, false, v.Uint(), ti.size, o)
	case kInt:
		return appendInt(b, true, uint64(v.Int()), ti.size, o)
	case kByteArray:
		return append(b, v.Bytes()...), nil
	case kBytes:
		return appendOctets(b, v.Bytes(), o)
	case kString:
		return appendOctets(b, v.String(), o)
	case kBitString:
		return appendBitString(b, v.Field(0).Bytes(), int(v.Field(1).Int()))
	case kOID:
		return appendOID(b, v)
	case kBigInt:
		return appendBigInt(b, v.Addr().Convert(bigIntPtrType).Interface().(*big.Int)), nil
	case kSeqOf:
		return appendSeqOf(b, v, o, depth)
	case kSequence:
		return appendSequence(b, v, ti.st, depth)
	case kChoice:
		return appendChoice(b, v, ti.st, depth)
	}
	return b, fmt.Errorf("unsupported Go type %s", v.Type())
}

// appendWrapped appends v's encoding as an open type (X.696): a
// length determinant followed by the encoding.
func appendWrapped(b []byte, v reflect.Value, o opts, depth int) ([]byte, error) {
	start := len(b)
	b, err := appendValue(b, v, o, depth)
	if err != nil {
		return b, err
	}
	return insertLength(b, start), nil
}

// insertLength inserts the length determinant of b[start:] at start.
func insertLength(b []byte, start int) []byte {
	n := len(b) - start
	var hdr [9]byte
	h := appendLength(hdr[:0], n)
	b = append(b, h...)
	copy(b[start+len(h):], b[start:start+n])
	copy(b[start:], h)
	return b
}

// appendLength appends a length determinant (X.696 8.6): the short form for
// n < 128, else 0x80|k followed by n in k big-endian octets, k minimal.
func appendLength(b []byte, n int) []byte {
	if n < 128 {
		return append(b, byte(n))
	}
	k := uintLen(uint64(n))
	b = append(b, 0x80|byte(k))
	return appendBE(b, uint64(n), k)
}

// appendBE appends the low n bytes of u big-endian (n may be 9: a leading 0).
func appendBE(b []byte, u uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		if i >= 8 {
			b = append(b, 0)
		} else {
			b = append(b, byte(u>>(8*i)))
		}
	}
	return b
}

// uintLen is the minimal number of octets of u as an unsigned integer.
func uintLen(u uint64) int { return max(1, (bits.Len64(u)+7)/8) }

// twosLen is the minimal number of octets of a two's complement integer
// whose value is u (neg false) or int64(u) (neg true).
func twosLen(neg bool, u uint64) int {
	if neg {
		u = ^u
	}
	return bits.Len64(u)/8 + 1
}

// appendInt encodes an integer of a Go integer kind; for a signed kind u
// holds the two's complement bits of the value.
func appendInt(b []byte, signed bool, u uint64, size int, o opts) ([]byte, error) {
	neg := signed && int64(u) < 0
	switch {
	case o.enum: // X.696 11: short form for 0..127, else long form
		if !neg && u <= 127 {
			return append(b, byte(u)), nil
		}
		n := twosLen(neg, u)
		return appendBE(append(b, 0x80|byte(n)), u, n), nil
	case o.varint: // X.696 10.4 (unsigned, lower bound >= 0), 10.8 (two's complement)
		n := uintLen(u)
		if signed {
			n = twosLen(neg, u)
		}
		return appendBE(appendLength(b, n), u, n), nil
	case size == 0:
		return b, errors.New(`int, uint and uintptr have no fixed COER width: use a sized type or coer:"varint"`)
	}
	return appendBE(b, u, size), nil // X.696 10: 1, 2, 4 or 8 octets
}

// appendBigInt encodes x as an unconstrained INTEGER (X.696 10.8): length
// determinant and minimal two's complement octets.
func appendBigInt(b []byte, x *big.Int) []byte {
	if x.Sign() >= 0 {
		mag := x.Bytes()
		n := len(mag)
		if n == 0 || mag[0]&0x80 != 0 {
			n++ // room for a zero sign octet
		}
		b = appendLength(b, n)
		if n > len(mag) {
			b = append(b, 0)
		}
		return append(b, mag...)
	}
	// The two's complement of x < 0 is the bitwise complement of |x|-1.
	m := new(big.Int).Neg(x)
	m.Sub(m, big.NewInt(1))
	mag := m.Bytes()
	n := len(mag)
	if n == 0 || mag[0]&0x80 != 0 {
		n++
	}
	b = appendLength(b, n)
	if n > len(mag) {
		b = append(b, 0xff)
	}
	for _, c := range mag {
		b = append(b, ^c)
	}
	return b
}

// appendOctets encodes an OCTET STRING or character string (X.696 27 for character strings):
// a length determinant and the octets, or just the octets for a fixed size.
func appendOctets[T string | []byte](b []byte, s T, o opts) ([]byte, error) {
	if o.hasSize {
		if len(s) != o.size {
			return b, fmt.Errorf("fixed size %d, have %d bytes", o.size, len(s))
		}
		return append(b, s...), nil
	}
	return append(appendLength(b, len(s)), s...), nil
}

// appendBitString encodes a variable-size BIT STRING (X.696 13.3): length
// determinant, initial octet with the number of unused bits, then the bits.
// Unused trailing bits are written as zero.
func appendBitString(b, s []byte, nbits int) ([]byte, error) {
	if nbits < 0 || nbits > 8*len(s) || nbits <= 8*(len(s)-1) {
		return b, fmt.Errorf("BitLength %d does not fit %d bytes", nbits, len(s))
	}
	b = appendLength(b, 1+len(s))
	if len(s) == 0 {
		return append(b, 0), nil
	}
	unused := 8*len(s) - nbits
	b = append(b, byte(unused))
	b = append(b, s[:len(s)-1]...)
	return append(b, s[len(s)-1]&(0xff<<unused)), nil
}

// appendOID encodes an OBJECT IDENTIFIER (X.696): a length
// determinant and the contents octets of X.690 8.19.
func appendOID(b []byte, v reflect.Value) ([]byte, error) {
	n := v.Len()
	if n < 2 {
		return b, errors.New("object identifier needs at least two arcs")
	}
	a0, a1 := v.Index(0).Int(), v.Index(1).Int()
	if a0 < 0 || a0 > 2 || a1 < 0 || (a0 < 2 && a1 >= 40) || a1 > math.MaxInt64-80 {
		return b, fmt.Errorf("invalid object identifier arcs %d.%d", a0, a1)
	}
	start := len(b)
	b = appendBase128(b, uint64(a0*40+a1))
	for i := 2; i < n; i++ {
		a := v.Index(i).Int()
		if a < 0 {
			return b, fmt.Errorf("negative object identifier arc %d", a)
		}
		b = appendBase128(b, uint64(a))
	}
	return insertLength(b, start), nil
}

// appendBase128 appends u in base 128, most significant group first, with
// bit 8 set on all octets but the last.
func appendBase128(b []byte, u uint64) []byte {
	n := max(1, (bits.Len64(u)+6)/7)
	for i := n - 1; i >= 0; i-- {
		c := byte(u>>(7*i)) & 0x7f
		if i > 0 {
			c |= 0x80
		}
		b = append(b, c)
	}
	return b
}

// appendQuantity appends the quantity field of a SEQUENCE OF (X.696 20.6):
// one octet L, then the count as an L-octet minimal unsigned integer.
func appendQuantity(b []byte, n int) []byte {
	l := uintLen(uint64(n))
	return appendBE(append(b, byte(l)), uint64(n), l)
}

// appendSeqOf encodes a SEQUENCE OF (X.696 20): quantity, then the elements.
func appendSeqOf(b []byte, v reflect.Value, o opts, depth int) ([]byte, error) {
	n := v.Len()
	b = appendQuantity(b, n)
	var err error
	for i := range n {
		if b, err = appendValue(b, v.Index(i), o, depth); err != nil {
			return b, atIndex(err, i)
		}
	}
	return b, nil
}

func setBit(p []byte, i int) { p[i>>3] |= 0x80 >> (i & 7) }

// appendSequence encodes a SEQUENCE (X.696 16): preamble (extension bit and
// presence bits), root components, then extension additions.
func appendSequence(b []byte, v reflect.Value, st *structInfo, depth int) ([]byte, error) {
	exts := st.fields[st.nRoot:]
	var unknown []UnknownExtension
	if st.unknown >= 0 && v.Field(st.unknown).Len() > 0 {
		unknown = v.Field(st.unknown).Interface().([]UnknownExtension)
	}
	extPresent := false
	for _, f := range exts {
		if !v.Field(f.index).IsNil() {
			extPresent = true
			break
		}
	}
	for _, u := range unknown {
		extPresent = extPresent || u.Raw != nil
	}

	// Preamble (X.696 16): extension bit, then one bit per
	// OPTIONAL/DEFAULT root component, padded with zero bits.
	nbits := st.nOptional
	if st.extensible {
		nbits++
	}
	if nbits > 0 {
		start := len(b)
		b = append(b, make([]byte, (nbits+7)/8)...)
		pre := b[start:]
		bit := 0
		if st.extensible {
			if extPresent {
				setBit(pre, 0)
			}
			bit++
		}
		for _, f := range st.fields[:st.nRoot] {
			if f.optional {
				if !v.Field(f.index).IsNil() {
					setBit(pre, bit)
				}
				bit++
			}
		}
	}

	var err error
	for _, f := range st.fields[:st.nRoot] {
		fv := v.Field(f.index)
		if f.optional && fv.IsNil() {
			continue
		}
		if b, err = appendValue(b, fv, f.opts, depth); err != nil {
			return b, at(err, f.name)
		}
	}
	if !extPresent {
		return b, nil
	}
	return appendAdditions(b, v, exts, unknown, depth)
}

// maxUnknownTag bounds the Tag of an UnknownExtension being encoded, so that
// a stray value cannot make Marshal allocate a huge bitmap.
const maxUnknownTag = 1 << 20

// appendAdditions encodes the extension presence bitmap and the present
// extension additions of a SEQUENCE (X.696 16.4, 16.5).
//
// X.696 16.4 gives the bitmap one bit per extension addition of the type, so
// it has one bit per field tagged "ext", present or not. Only unknown
// additions kept from decoding an encoder's other version of the type change
// that (see UnknownExtension): a present one extends the bitmap to its Tag+1,
// and a final entry with a nil Raw sets the length to its Tag+1.
func appendAdditions(b []byte, v reflect.Value, exts []field, unknown []UnknownExtension, depth int) ([]byte, error) {
	nbits, prev := len(exts), -1
	for i, u := range unknown {
		switch {
		case u.Tag <= prev || u.Tag >= maxUnknownTag:
			return b, fmt.Errorf("UnknownExtension tags must increase, got %d after %d", u.Tag, prev)
		case u.Raw == nil && i != len(unknown)-1:
			return b, errors.New("only the last UnknownExtension of a SEQUENCE may have a nil Raw")
		case u.Raw == nil:
			nbits = u.Tag + 1
			for _, f := range exts[min(nbits, len(exts)):] {
				if !v.Field(f.index).IsNil() {
					return b, fmt.Errorf("extension addition %s is beyond the bitmap length %d set by an UnknownExtension", f.name, nbits)
				}
			}
		case u.Tag < len(exts):
			return b, fmt.Errorf("UnknownExtension tag %d is a known extension addition", u.Tag)
		default:
			nbits = u.Tag + 1
		}
		prev = u.Tag
	}
	nbytes := (nbits + 7) / 8
	b = appendLength(b, 1+nbytes)
	b = append(b, byte(8*nbytes-nbits))
	start := len(b)
	b = append(b, make([]byte, nbytes)...)
	for i, f := range exts[:min(nbits, len(exts))] {
		if !v.Field(f.index).IsNil() {
			setBit(b[start:], i)
		}
	}
	for _, u := range unknown {
		if u.Raw != nil {
			setBit(b[start:], u.Tag)
		}
	}
	var err error
	for _, f := range exts {
		fv := v.Field(f.index)
		if fv.IsNil() {
			continue
		}
		if b, err = appendWrapped(b, fv, f.opts, depth); err != nil {
			return b, at(err, f.name)
		}
	}
	for _, u := range unknown {
		if u.Raw != nil {
			b = append(appendLength(b, len(u.Raw)), u.Raw...)
		}
	}
	return b, nil
}

// appendTag appends a context-specific tag (X.696 8.7): one octet 0x80|n for
// n < 63, else 0xBF followed by n in base 128.
func appendTag(b []byte, n int) []byte {
	if n < 63 {
		return append(b, 0x80|byte(n))
	}
	return appendBase128(append(b, 0xbf), uint64(n))
}

// appendChoice encodes a CHOICE (X.696 21): the tag of the chosen
// alternative, then its encoding, wrapped as an open type for an extension
// alternative.
func appendChoice(b []byte, v reflect.Value, st *structInfo, depth int) ([]byte, error) {
	chosen, count := -1, 0
	for i, f := range st.fields {
		if !v.Field(f.index).IsNil() {
			chosen = i
			count++
		}
	}
	var unknown *UnknownExtension
	if st.unknown >= 0 {
		unknown = v.Field(st.unknown).Interface().(*UnknownExtension)
		if unknown != nil {
			count++
		}
	}
	if count != 1 {
		return b, fmt.Errorf("CHOICE has %d alternatives set, want exactly 1", count)
	}
	if unknown != nil {
		if unknown.Tag < len(st.fields) || unknown.Tag > math.MaxInt32 {
			return b, fmt.Errorf("unknown CHOICE alternative has tag %d, a known alternative or out of range", unknown.Tag)
		}
		b = appendTag(b, unknown.Tag)
		return append(appendLength(b, len(unknown.Raw)), unknown.Raw...), nil
	}
	f := st.fields[chosen]
	b = appendTag(b, chosen)
	var err error
	if chosen >= st.nRoot {
		b, err = appendWrapped(b, v.Field(f.index), f.opts, depth)
	} else {
		b, err = appendValue(b, v.Field(f.index), f.opts, depth)
	}
	if err != nil {
		return b, at(err, f.name)
	}
	return b, nil
}
