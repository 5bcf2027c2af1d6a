package coer

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Every proper prefix of a valid encoding must fail cleanly.
func TestTruncated(t *testing.T) {
	for _, v := range []*rich{richValue(), richMinimal()} {
		enc, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for i := range len(enc) {
			var r rich
			if err := Unmarshal(enc[:i], &r); err == nil {
				t.Fatalf("prefix of %d of %d bytes decoded without error", i, len(enc))
			}
		}
	}
}

func TestTrailingBytes(t *testing.T) {
	enc, err := Marshal(richValue())
	if err != nil {
		t.Fatal(err)
	}
	var r rich
	err = Unmarshal(append(enc, 0), &r)
	if err == nil || !strings.Contains(err.Error(), "rich: 1 trailing bytes") {
		t.Fatalf("got %v", err)
	}
	var u uint16
	if err := Unmarshal([]byte{1, 2, 3}, &u); err == nil {
		t.Fatal("trailing byte after uint16 accepted")
	}
}

type bigStringSeq struct {
	S []byte
}

type optBits struct {
	_ Extensible
	A *uint8 `coer:"optional"`
}

// Malformed and non-canonical encodings that Unmarshal must reject.
func TestUnmarshalErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		into any // pointer to decode into
		hex  string
		want string // substring of the error
	}{
		// X.696 8.6: length determinant.
		{"length long form < 128", new([]byte), "8105 0102030405", "non-canonical"},
		{"length leading zero", new([]byte), "820080" + strings.Repeat("00", 128), "non-canonical"},
		{"length 0x80", new([]byte), "80", "indefinite"},
		{"length of 9 octets", new([]byte), "89 010000000000000000", "too large"},
		{"length beyond input", new([]byte), "05 0102", "exceeds"},
		{"huge length", new(bigStringSeq), "88 7fffffffffffffff", "exceeds"},
		// X.696 9: BOOLEAN.
		{"boolean 0x01", new(bool), "01", "non-canonical"},
		{"boolean 0x7f", new(bool), "7f", "non-canonical"},
		// X.696 10: integers.
		{"varint uint leading zero", new(varU), "02 0080", "non-canonical"},
		{"varint uint empty", new(varU), "00", "no octets"},
		{"varint uint too long", new(varU), "09 010000000000000000", "out of range"},
		{"varint uint16 overflow", new(varU16), "03 010000", "out of range"},
		{"varint int leading zero", new(varI), "02 0001", "non-canonical"},
		{"varint int leading ff", new(varI), "02 ff80", "non-canonical"},
		{"varint int too long", new(varI), "09 008000000000000000", "out of range"},
		{"big leading zero", new(withBig), "02 007f 01 00", "non-canonical"},
		// X.696 11: ENUMERATED.
		{"enum long form for 5", new(enumU8), "81 05", "non-canonical"},
		{"enum long form for 127", new(enumU8), "82 007f", "non-canonical"},
		{"enum long form zero length", new(enumU8), "80", "no octets"},
		{"enum redundant octet", new(enumI32), "82 ffff", "non-canonical"},
		{"enum negative into unsigned", new(enumU8), "81 ff", "out of range"},
		{"enum too large for uint8", new(enumU8), "82 0100", "out of range"},
		// X.696 13.3: BIT STRING.
		{"bitstring unused bits set", new(BitString), "02 05 a8", "non-canonical"},
		{"bitstring 8 unused", new(BitString), "02 08 00", "unused bits"},
		{"bitstring empty with unused", new(BitString), "01 03", "unused bits"},
		{"bitstring no initial octet", new(BitString), "00", "initial octet"},
		// OBJECT IDENTIFIER.
		{"oid empty", new(asn1.ObjectIdentifier), "00", "empty"},
		{"oid leading 0x80", new(asn1.ObjectIdentifier), "03 2a 8001", "non-canonical"},
		{"oid truncated arc", new(asn1.ObjectIdentifier), "02 2a 86", "truncated"},
		{"oid arc too large", new(asn1.ObjectIdentifier), "0b 2a ffffffffffffffffff7f", "too large"},
		// X.696 16: SEQUENCE preamble and extensions.
		{"preamble padding bit", new(nineOpt), "0040", "padding"},
		{"preamble padding bit ext", new(optBits), "20", "padding"},
		{"ext bit but empty bitmap", new(extSeq), "80 05 0206 00", "no extension addition"},
		{"ext bitmap without bits", new(extSeq), "80 05 0100", "empty extension"},
		{"ext bitmap shorter than type", new(extSeq), "80 05 020780 020102", "2 additions and no unknown field"},
		{"ext bitmap unused bits set", new(extSeq), "80 05 0206a1 020102", "unused bits"},
		{"ext bitmap 8 unused", new(extSeq), "80 05 020880", "unused bits"},
		{"unknown addition without field", new(extSeq), "80 05 0205 20 0101", "2 additions and no unknown field"},
		{"addition with trailing bytes", new(extSeq), "80 05 020680 03010203", "left over"},
		{"addition truncated open", new(extSeq), "80 05 020680 0201", "exceeds"},
		// X.696 20: SEQUENCE OF quantity.
		{"quantity zero octets", new([]uint16), "00", "zero octets"},
		{"quantity leading zero", new([]uint16), "02 0001 0005", "non-canonical"},
		{"quantity too long", new([]uint16), "09 000000000000000001", "too large"},
		{"quantity beyond input", new([]uint16), "01 05 0001", "exceeds"},
		// X.696 21 and 8.7: CHOICE.
		{"choice unknown root tag", new(plainChoice), "82 00", "unknown CHOICE alternative"},
		{"choice unknown ext tag no field", new(extChoiceNoUnknown), "81 0100", "no unknown field"},
		{"choice universal class", new(plainChoice), "00 01", "not context-specific"},
		{"choice private class", new(plainChoice), "c0 01", "not context-specific"},
		{"choice long tag for 5", new(bigChoice), "bf05 00", "non-canonical"},
		{"choice tag leading 0x80", new(bigChoice), "bf803f 00", "non-canonical"},
		{"choice tag too large", new(bigChoice), "bfffffffffff7f", "too large"},
		{"choice ext alternative trailing", new(extChoice), "82 03 000102", "left over"},
		{"choice tag truncated", new(bigChoice), "bf", "truncated"},
		// Open type contents must be consumed exactly.
		{"open tag trailing", new(openTag), "03 123456", "left over"},
		// Custom Unmarshaler errors pass through with the path.
		{"custom unmarshaler", new(withTriple), "00 0102", "withTriple.T: triple truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Unmarshal(unhex(t, tc.hex), tc.into)
			if err == nil {
				t.Fatalf("decoded %x without error", unhex(t, tc.hex))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}

type pathLeaf struct {
	P *uint8
}

type pathMid struct {
	List []pathLeaf
}

type pathOuter struct {
	In pathMid
}

type certLike struct {
	ToBeSigned struct {
		Region *struct {
			Ids []uint16
		} `coer:"optional"`
	}
}

func TestErrorPath(t *testing.T) {
	_, err := Marshal(&pathOuter{In: pathMid{List: []pathLeaf{{P: ptr(uint8(1))}, {}}}})
	if err == nil || err.Error() != "coer: pathOuter.In.List[1].P: nil pointer for a mandatory value" {
		t.Fatalf("got %v", err)
	}
	var c certLike
	err = Unmarshal(unhex(t, "80 01 05 0001"), &c)
	if err == nil || !strings.HasPrefix(err.Error(), "coer: certLike.ToBeSigned.Region.Ids: ") {
		t.Fatalf("got %v", err)
	}
}

type badTag struct {
	A uint8 `coer:"optinal"`
}

type badOptional struct {
	A uint8 `coer:"optional"`
}

type badExtNotExtensible struct {
	A *uint8 `coer:"ext"`
}

type badRootAfterExt struct {
	_ Extensible
	A *uint8 `coer:"ext"`
	B uint8
}

type badVarint struct {
	A string `coer:"varint"`
}

type badEnumVarint struct {
	A uint8 `coer:"varint,enum"`
}

type badBits struct {
	A []byte `coer:"bits"`
}

type badSize struct {
	A uint8 `coer:"size=1"`
}

type badUnknownType struct {
	_ Extensible
	U *UnknownExtension `coer:"unknown"`
}

type badUnknownNoExt struct {
	U []UnknownExtension `coer:"unknown"`
}

type badUnknownUntagged struct {
	U []UnknownExtension
}

type badChoiceAlt struct {
	_ Choice
	A uint8
}

type badChoiceEmpty struct {
	_ Choice
}

type badChoiceOptional struct {
	_ Choice
	A *uint8 `coer:"optional"`
}

type badGoInt struct {
	A int
}

type badMap struct {
	M map[string]int
}

type badFloat struct {
	F float64
}

// Bad values and bad struct definitions make Marshal and Unmarshal fail.
func TestMarshalErrors(t *testing.T) {
	two := &extChoice{A: ptr(uint8(1)), B: []byte{}}
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"choice two alternatives", two, "2 alternatives set"},
		{"choice no alternative", &extChoice{}, "0 alternatives set"},
		{"choice known and unknown", &extChoice{A: ptr(uint8(1)), U: &UnknownExtension{Tag: 7}}, "2 alternatives"},
		{"choice unknown with known tag", &extChoice{U: &UnknownExtension{Tag: 2}}, "known alternative"},
		{"nil mandatory pointer", &nested{PP: ptrPtr(uint8(1))}, "nested.P: nil pointer"},
		{"nil inner pointer", &nested{P: &inner{}, PP: new(*uint8)}, "nested.PP: nil pointer"},
		{"nil in slice", ptr([]*uint8{nil}), "[0]: nil pointer"},
		{"bitstring too long", &BitString{Bytes: []byte{1}, BitLength: 9}, "does not fit"},
		{"bitstring too short", &BitString{Bytes: []byte{1, 2}, BitLength: 8}, "does not fit"},
		{"fixed size mismatch", &fixedString{"abc"}, "fixed size 2"},
		{"oid one arc", ptr(asn1.ObjectIdentifier{1}), "two arcs"},
		{"oid bad second arc", ptr(asn1.ObjectIdentifier{1, 40}), "invalid"},
		{"oid negative arc", ptr(asn1.ObjectIdentifier{1, 2, -3}), "negative"},
		{"unknown tags not increasing", &extUnk{A: 1, U: []UnknownExtension{{Tag: 3, Raw: []byte{}}, {Tag: 2, Raw: []byte{}}}}, "must increase"},
		{"unknown tag clashes with known", &extUnk{A: 1, U: []UnknownExtension{{Tag: 0, Raw: []byte{}}}}, "is a known extension addition"},
		{"unknown nil Raw not last", &extUnk{A: 1, U: []UnknownExtension{{Tag: 1}, {Tag: 2, Raw: []byte{}}}}, "only the last"},
		{"known addition beyond marker", &extUnk2{A: 1, D: ptr(uint8(1)), U: []UnknownExtension{{Tag: 0}}}, "beyond the bitmap length"},
		{"custom marshaler error", &withTriple{T: triple{1 << 24}}, "triple out of range"},
		{"bad tag option", &badTag{}, `unknown tag option "optinal"`},
		{"optional not nilable", &badOptional{}, "must be a pointer or a slice"},
		{"ext not extensible", &badExtNotExtensible{}, "without the Extensible marker"},
		{"root after ext", &badRootAfterExt{}, "root field after"},
		{"varint on string", &badVarint{}, "varint on non-integer"},
		{"varint and enum", &badEnumVarint{}, "both varint and enum"},
		{"bits on slice", &badBits{}, "bits on"},
		{"size on integer", &badSize{}, "size on"},
		{"unknown wrong type", &badUnknownType{}, "must be []coer.UnknownExtension"},
		{"unknown not extensible", &badUnknownNoExt{}, "without the Extensible marker"},
		{"unknown untagged", &badUnknownUntagged{}, `needs the tag coer:"unknown"`},
		{"choice alternative not nilable", &badChoiceAlt{}, "must be a pointer or a slice"},
		{"choice empty", &badChoiceEmpty{}, "without alternatives"},
		{"choice optional", &badChoiceOptional{}, "optional/default tag on a CHOICE"},
		{"Go int", &badGoInt{}, "no fixed COER width"},
		{"map", &badMap{}, "unsupported Go type"},
		{"float", &badFloat{}, "unsupported Go type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Marshal(tc.v)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Marshal: got %v, want %q", err, tc.want)
			}
			// Definition errors also stop Unmarshal.
			if !strings.HasPrefix(reflect.TypeOf(tc.v).Elem().Name(), "bad") {
				return
			}
			dst := reflect.New(reflect.TypeOf(tc.v).Elem())
			if err := Unmarshal([]byte{0, 0, 0, 0}, dst.Interface()); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Unmarshal: got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestBadArguments(t *testing.T) {
	if _, err := Marshal(nil); err == nil {
		t.Error("Marshal(nil) succeeded")
	}
	if _, err := Marshal((*extSeq)(nil)); err == nil {
		t.Error("Marshal of a nil pointer succeeded")
	}
	var s extSeq
	if err := Unmarshal([]byte{0, 5}, s); err == nil {
		t.Error("Unmarshal into a non-pointer succeeded")
	}
	if err := Unmarshal([]byte{0, 5}, (*extSeq)(nil)); err == nil {
		t.Error("Unmarshal into a nil pointer succeeded")
	}
	err := Unmarshal([]byte{0x81, 5}, &s)
	var pe *pathError
	if !errors.As(err, &pe) {
		t.Errorf("error %v is not a *pathError", err)
	}
}

type chain struct {
	Next *chain `coer:"optional"`
	V    uint8
}

func chainEncoding(n int) []byte {
	b := bytes.Repeat([]byte{0x80}, n)
	b = append(b, 0, 0)
	return append(b, make([]byte, n)...)
}

// Recursive types decode to a bounded depth, and cyclic values fail.
func TestDepthLimit(t *testing.T) {
	var c chain
	if err := Unmarshal(chainEncoding(100), &c); err != nil {
		t.Fatalf("100 levels: %v", err)
	}
	if err := Unmarshal(chainEncoding(1_000_000), &c); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Fatalf("1e6 levels: %v", err)
	}
	cyc := &chain{}
	cyc.Next = cyc
	if _, err := Marshal(cyc); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Fatalf("cyclic value: %v", err)
	}
}
