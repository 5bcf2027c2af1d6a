package coer

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
)

// Unmarshal decodes the COER encoding in data into v, which must be a
// non-nil pointer. All of data must be consumed.
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("coer: Unmarshal needs a non-nil pointer, got %T", v)
	}
	rest, err := decodeValue(data, rv.Elem(), opts{}, 0)
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%d trailing bytes", len(rest))
	}
	if err != nil {
		return at(err, rootName(rv.Type()))
	}
	return nil
}

// take splits the first n bytes off d.
func take(d []byte, n int) ([]byte, []byte, error) {
	if n > len(d) {
		return nil, d, errTruncated(n, len(d))
	}
	return d[:n], d[n:], nil
}

// be decodes big-endian unsigned octets (at most 8).
func be(c []byte) uint64 {
	var u uint64
	for _, x := range c {
		u = u<<8 | uint64(x)
	}
	return u
}

// readLength reads a length determinant (X.696 8.6) and checks that that
// many bytes follow, so callers may allocate n bytes.
func readLength(d []byte) (int, []byte, error) {
	if len(d) == 0 {
		return 0, d, errTruncated(1, 0)
	}
	first := d[0]
	d = d[1:]
	var n uint64
	if first < 0x80 {
		n = uint64(first)
	} else {
		k := int(first & 0x7f)
		switch {
		case k == 0:
			return 0, d, errors.New("length determinant 0x80 (indefinite length is not OER)")
		case k > 8:
			return 0, d, fmt.Errorf("length determinant of %d octets is too large", k)
		case k > len(d):
			return 0, d, errTruncated(k, len(d))
		case d[0] == 0:
			return 0, d, errNonCanonical("length determinant with a leading zero octet")
		}
		n, d = be(d[:k]), d[k:]
		if n < 128 {
			return 0, d, errNonCanonical("long-form length determinant for length %d", n)
		}
	}
	if n > uint64(len(d)) {
		return 0, d, fmt.Errorf("length %d exceeds the %d bytes left", n, len(d))
	}
	return int(n), d, nil
}

// readPrefixed reads a length determinant and the octets it counts.
func readPrefixed(d []byte) ([]byte, []byte, error) {
	n, d, err := readLength(d)
	if err != nil {
		return nil, d, err
	}
	return d[:n], d[n:], nil
}

// clone copies b into a new non-nil slice.
func clone(b []byte) []byte { return append(make([]byte, 0, len(b)), b...) }

// decodeValue decodes a value of v's type from the front of d into v, which
// is settable, and returns the rest of d.
func decodeValue(d []byte, v reflect.Value, o opts, depth int) ([]byte, error) {
	if depth++; depth > maxDepth {
		return d, errTooDeep
	}
	if o.open {
		o.open = false
		c, rest, err := readPrefixed(d)
		if err != nil {
			return rest, err
		}
		return rest, decodeAll(c, v, o, depth)
	}
	ti := getTypeInfo(v.Type())
	if ti.unmarshaler {
		rest, err := v.Addr().Interface().(Unmarshaler).UnmarshalCOER(d)
		if err == nil && len(rest) > len(d) {
			err = errors.New("UnmarshalCOER returned more bytes than it was given")
		}
		if err != nil {
			return d, err
		}
		return d[len(d)-len(rest):], nil
	}
	if ti.err != nil {
		return d, ti.err
	}
	switch ti.kind {
	case kPtr:
		p := reflect.New(v.Type().Elem())
		d, err := decodeValue(d, p.Elem(), o, depth)
		if err == nil {
			v.Set(p)
		}
		return d, err
	case kBool: // X.696 9: 0x00 or 0xFF
		c, d, err := take(d, 1)
		if err != nil {
			return d, err
		}
		if c[0] != 0 && c[0] != 0xff {
			return d, errNonCanonical("BOOLEAN octet 0x%02x", c[0])
		}
		v.SetBool(c[0] != 0)
		return d, nil
	case kUint, kInt:
		return decodeInt(d, v, ti, o)
	case kByteArray:
		c, d, err := take(d, v.Len())
		if err == nil {
			copy(v.Bytes(), c)
		}
		return d, err
	case kBytes, kString:
		var c []byte
		var err error
		if o.hasSize {
			c, d, err = take(d, o.size)
		} else {
			c, d, err = readPrefixed(d)
		}
		if err != nil {
			return d, err
		}
		if ti.kind == kString {
			v.SetString(string(c))
		} else {
			v.SetBytes(clone(c))
		}
		return d, nil
	case kBitString:
		return decodeBitString(d, v)
	case kOID:
		return decodeOID(d, v)
	case kBigInt:
		c, d, err := readPrefixed(d)
		if err == nil {
			err = decodeBigInt(c, v.Addr().Convert(bigIntPtrType).Interface().(*big.Int))
		}
		return d, err
	case kSeqOf:
		return decodeSeqOf(d, v, o, depth)
	case kSequence:
		return decodeSequence(d, v, ti.st, depth)
	case kChoice:
		return decodeChoice(d, v, ti.st, depth)
	}
	return d, fmt.Errorf("unsupported Go type %s", v.Type())
}

// decodeAll decodes c, the contents of an open type, into v; c must be
// consumed exactly.
func decodeAll(c []byte, v reflect.Value, o opts, depth int) error {
	rest, err := decodeValue(c, v, o, depth)
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%d bytes left over inside an open type", len(rest))
	}
	return err
}

// readTwos decodes a minimal two's complement integer of 1 to 9 octets.
// neg reports a negative value, whose two's complement bits are in u.
func readTwos(c []byte) (neg bool, u uint64, err error) {
	switch {
	case len(c) == 0:
		return false, 0, errors.New("integer with no octets")
	case len(c) > 1 && (c[0] == 0 && c[1]&0x80 == 0 || c[0] == 0xff && c[1]&0x80 != 0):
		return false, 0, errNonCanonical("integer with a redundant leading octet")
	case len(c) > 9 || len(c) == 9 && c[0] != 0:
		return false, 0, errors.New("integer out of range")
	case len(c) == 9:
		return false, be(c[1:]), nil
	}
	u = be(c)
	if c[0]&0x80 != 0 {
		return true, u | math.MaxUint64<<(8*len(c)), nil
	}
	return false, u, nil
}

// setInt stores an integer into a Go integer value, checking its range.
func setInt(v reflect.Value, neg bool, u uint64) error {
	if v.Kind() >= reflect.Uint && v.Kind() <= reflect.Uintptr {
		if neg || v.OverflowUint(u) {
			return fmt.Errorf("value out of range for %s", v.Type())
		}
		v.SetUint(u)
		return nil
	}
	if !neg && u > math.MaxInt64 || v.OverflowInt(int64(u)) {
		return fmt.Errorf("value out of range for %s", v.Type())
	}
	v.SetInt(int64(u))
	return nil
}

// decodeInt decodes an INTEGER or ENUMERATED into a Go integer kind.
func decodeInt(d []byte, v reflect.Value, ti *typeInfo, o opts) ([]byte, error) {
	var c []byte
	var err error
	switch {
	case o.enum: // X.696 11
		if c, d, err = take(d, 1); err != nil {
			return d, err
		}
		if c[0] < 0x80 {
			return d, setInt(v, false, uint64(c[0]))
		}
		if c, d, err = take(d, int(c[0]&0x7f)); err != nil {
			return d, err
		}
		neg, u, err := readTwos(c)
		if err != nil {
			return d, err
		}
		if !neg && u <= 127 {
			return d, errNonCanonical("long-form ENUMERATED for value %d", u)
		}
		return d, setInt(v, neg, u)
	case o.varint: // X.696 10.4, 10.8
		if c, d, err = readPrefixed(d); err != nil {
			return d, err
		}
		if ti.kind == kInt {
			neg, u, err := readTwos(c)
			if err != nil {
				return d, err
			}
			return d, setInt(v, neg, u)
		}
		switch {
		case len(c) == 0:
			return d, errors.New("integer with no octets")
		case len(c) > 1 && c[0] == 0:
			return d, errNonCanonical("unsigned integer with a leading zero octet")
		case len(c) > 8:
			return d, fmt.Errorf("value out of range for %s", v.Type())
		}
		return d, setInt(v, false, be(c))
	case ti.size == 0:
		return d, errors.New(`int, uint and uintptr have no fixed COER width: use a sized type or coer:"varint"`)
	}
	// X.696 10: fixed width of 1, 2, 4 or 8 octets.
	if c, d, err = take(d, ti.size); err != nil {
		return d, err
	}
	u := be(c)
	if ti.kind == kInt {
		shift := 64 - 8*ti.size
		v.SetInt(int64(u<<shift) >> shift)
	} else {
		v.SetUint(u)
	}
	return d, nil
}

// decodeBigInt decodes the contents of an unconstrained INTEGER (X.696 10.8).
func decodeBigInt(c []byte, x *big.Int) error {
	switch {
	case len(c) == 0:
		return errors.New("integer with no octets")
	case len(c) > 1 && (c[0] == 0 && c[1]&0x80 == 0 || c[0] == 0xff && c[1]&0x80 != 0):
		return errNonCanonical("integer with a redundant leading octet")
	}
	x.SetBytes(c)
	if c[0]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(c))))
	}
	return nil
}

// decodeBitString decodes a variable-size BIT STRING (X.696 13.3).
func decodeBitString(d []byte, v reflect.Value) ([]byte, error) {
	c, d, err := readPrefixed(d)
	if err != nil {
		return d, err
	}
	switch {
	case len(c) == 0:
		return d, errors.New("BIT STRING without its initial octet")
	case c[0] > 7:
		return d, fmt.Errorf("BIT STRING with %d unused bits", c[0])
	case len(c) == 1 && c[0] != 0:
		return d, errors.New("empty BIT STRING with unused bits")
	case len(c) > 1 && c[len(c)-1]&(1<<c[0]-1) != 0:
		return d, errNonCanonical("BIT STRING unused bits are not zero")
	}
	v.Field(0).SetBytes(clone(c[1:]))
	v.Field(1).SetInt(int64(8*(len(c)-1) - int(c[0])))
	return d, nil
}

// decodeOID decodes an OBJECT IDENTIFIER: length and X.690 8.19 contents.
func decodeOID(d []byte, v reflect.Value) ([]byte, error) {
	c, d, err := readPrefixed(d)
	if err != nil {
		return d, err
	}
	if len(c) == 0 {
		return d, errors.New("empty object identifier")
	}
	arcs := make([]int, 1, len(c)+1)
	for len(c) > 0 {
		if c[0] == 0x80 {
			return d, errNonCanonical("object identifier arc with a leading 0x80 octet")
		}
		var a uint64
		for {
			if len(c) == 0 {
				return d, errors.New("truncated object identifier arc")
			}
			if a > math.MaxInt>>7 {
				return d, errors.New("object identifier arc too large")
			}
			a = a<<7 | uint64(c[0]&0x7f)
			more := c[0]&0x80 != 0
			c = c[1:]
			if !more {
				break
			}
		}
		arcs = append(arcs, int(a))
	}
	// The first subidentifier combines the first two arcs.
	switch first := arcs[1]; {
	case first < 40:
		arcs[0], arcs[1] = 0, first
	case first < 80:
		arcs[0], arcs[1] = 1, first-40
	default:
		arcs[0], arcs[1] = 2, first-80
	}
	v.Set(reflect.ValueOf(arcs).Convert(v.Type()))
	return d, nil
}

// decodeSeqOf decodes a SEQUENCE OF (X.696 20).
func decodeSeqOf(d []byte, v reflect.Value, o opts, depth int) ([]byte, error) {
	c, d, err := take(d, 1)
	if err != nil {
		return d, err
	}
	l := int(c[0])
	switch {
	case l == 0:
		return d, errors.New("SEQUENCE OF quantity of zero octets")
	case l > 8:
		return d, fmt.Errorf("SEQUENCE OF quantity of %d octets is too large", l)
	}
	if c, d, err = take(d, l); err != nil {
		return d, err
	}
	if l > 1 && c[0] == 0 {
		return d, errNonCanonical("SEQUENCE OF quantity with a leading zero octet")
	}
	// Each element is assumed to take at least one octet, which bounds the
	// count (and so the allocation) by the input left.
	n := be(c)
	if n > uint64(len(d)) {
		return d, fmt.Errorf("SEQUENCE OF count %d exceeds the %d bytes left", n, len(d))
	}
	v.Set(reflect.MakeSlice(v.Type(), 0, min(int(n), 64)))
	for i := range int(n) {
		if v.Len() == v.Cap() {
			v.Grow(1)
		}
		v.SetLen(i + 1)
		if d, err = decodeValue(d, v.Index(i), o, depth); err != nil {
			return d, atIndex(err, i)
		}
	}
	return d, nil
}

func getBit(p []byte, i int) bool { return p[i>>3]&(0x80>>(i&7)) != 0 }

// decodeSequence decodes a SEQUENCE (X.696 16).
func decodeSequence(d []byte, v reflect.Value, st *structInfo, depth int) ([]byte, error) {
	nbits := st.nOptional
	if st.extensible {
		nbits++
	}
	pre, d, err := take(d, (nbits+7)/8)
	if err != nil {
		return d, err
	}
	if nbits%8 != 0 && pre[len(pre)-1]&(0xff>>(nbits%8)) != 0 {
		return d, errNonCanonical("preamble padding bits are not zero")
	}
	bit, extBit := 0, false
	if st.extensible {
		extBit = getBit(pre, 0)
		bit++
	}
	for _, f := range st.fields[:st.nRoot] {
		fv := v.Field(f.index)
		if f.optional {
			present := getBit(pre, bit)
			bit++
			if !present {
				fv.SetZero()
				continue
			}
		}
		if d, err = decodeValue(d, fv, f.opts, depth); err != nil {
			return d, at(err, f.name)
		}
	}
	for _, f := range st.fields[st.nRoot:] {
		v.Field(f.index).SetZero()
	}
	if st.unknown >= 0 {
		v.Field(st.unknown).SetZero()
	}
	if !extBit {
		return d, nil
	}
	return decodeAdditions(d, v, st, depth)
}

// decodeAdditions decodes the extension presence bitmap and the extension
// additions of a SEQUENCE (X.696 16.4, 16.5).
//
// The canonical bitmap has exactly one bit per extension addition of the
// type (X.696 16.4). A bitmap of another length comes from an encoder with
// an earlier (shorter) or later (longer) version of the type. Such bitmaps
// are accepted only if the struct has an unknown field, which records the
// extra additions and the bitmap length (see UnknownExtension) so that
// re-encoding reproduces the input; without one they are an error.
func decodeAdditions(d []byte, v reflect.Value, st *structInfo, depth int) ([]byte, error) {
	exts := st.fields[st.nRoot:]
	bm, d, err := readPrefixed(d)
	if err != nil {
		return d, err
	}
	switch {
	case len(bm) < 2:
		return d, errNonCanonical("empty extension presence bitmap")
	case bm[0] > 7:
		return d, fmt.Errorf("extension presence bitmap with %d unused bits", bm[0])
	case bm[len(bm)-1]&(1<<bm[0]-1) != 0:
		return d, errNonCanonical("extension presence bitmap unused bits are not zero")
	}
	nbits := 8*(len(bm)-1) - int(bm[0])
	bm = bm[1:]
	if nbits != len(exts) && st.unknown < 0 {
		return d, fmt.Errorf("extension presence bitmap of %d bits, the type has %d additions and no unknown field", nbits, len(exts))
	}
	var unknown []UnknownExtension
	anySet := false
	for i := range nbits {
		set := getBit(bm, i)
		anySet = anySet || set
		if i >= len(exts) {
			if set {
				raw, rest, err := readPrefixed(d)
				if err != nil {
					return rest, at(err, fmt.Sprintf("extension %d", i))
				}
				d = rest
				unknown = append(unknown, UnknownExtension{Tag: i, Raw: clone(raw)})
			}
			continue
		}
		if !set {
			continue
		}
		f := exts[i]
		c, rest, err := readPrefixed(d)
		if err != nil {
			return rest, at(err, f.name)
		}
		d = rest
		if err := decodeAll(c, v.Field(f.index), f.opts, depth); err != nil {
			return d, at(err, f.name)
		}
	}
	if !anySet {
		return d, errNonCanonical("extension bit set but no extension addition present")
	}
	if nbits < len(exts) || nbits > len(exts) && !getBit(bm, nbits-1) {
		// Record the bitmap length, which re-encoding could not infer.
		unknown = append(unknown, UnknownExtension{Tag: nbits - 1})
	}
	if unknown != nil {
		v.Field(st.unknown).Set(reflect.ValueOf(unknown))
	}
	return d, nil
}

// readTag reads a context-specific tag (X.696 8.7) and returns its number.
func readTag(d []byte) (int, []byte, error) {
	c, d, err := take(d, 1)
	if err != nil {
		return 0, d, err
	}
	if c[0]>>6 != 2 {
		return 0, d, fmt.Errorf("CHOICE tag 0x%02x is not context-specific", c[0])
	}
	if n := int(c[0] & 0x3f); n < 63 {
		return n, d, nil
	}
	if len(d) > 0 && d[0] == 0x80 {
		return 0, d, errNonCanonical("CHOICE tag number with a leading 0x80 octet")
	}
	n := 0
	for {
		if c, d, err = take(d, 1); err != nil {
			return 0, d, err
		}
		if n > math.MaxInt32>>7 {
			return 0, d, errors.New("CHOICE tag number too large")
		}
		n = n<<7 | int(c[0]&0x7f)
		if c[0]&0x80 == 0 {
			break
		}
	}
	if n < 63 {
		return 0, d, errNonCanonical("long-form CHOICE tag for number %d", n)
	}
	return n, d, nil
}

// decodeChoice decodes a CHOICE (X.696 21).
func decodeChoice(d []byte, v reflect.Value, st *structInfo, depth int) ([]byte, error) {
	n, d, err := readTag(d)
	if err != nil {
		return d, err
	}
	for _, f := range st.fields {
		v.Field(f.index).SetZero()
	}
	if st.unknown >= 0 {
		v.Field(st.unknown).SetZero()
	}
	switch {
	case n < st.nRoot:
		f := st.fields[n]
		if d, err = decodeValue(d, v.Field(f.index), f.opts, depth); err != nil {
			return d, at(err, f.name)
		}
		return d, nil
	case n < len(st.fields): // an extension alternative, in an open type
		f := st.fields[n]
		c, rest, err := readPrefixed(d)
		if err == nil {
			err = decodeAll(c, v.Field(f.index), f.opts, depth)
		}
		if err != nil {
			return rest, at(err, f.name)
		}
		return rest, nil
	case !st.extensible:
		return d, fmt.Errorf("unknown CHOICE alternative [%d]", n)
	case st.unknown < 0:
		return d, fmt.Errorf("unknown extension alternative [%d] and no unknown field to keep it", n)
	}
	raw, d, err := readPrefixed(d)
	if err != nil {
		return d, err
	}
	v.Field(st.unknown).Set(reflect.ValueOf(&UnknownExtension{Tag: n, Raw: clone(raw)}))
	return d, nil
}
