package coer

import (
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

type vector struct {
	name string
	val  any // a pointer to the value
	hex  string
}

func seqOf256() *[]int8 {
	s := make([]int8, 256)
	for i := range s {
		s[i] = int8(i)
	}
	return &s
}

func seqOf256Hex() string {
	var sb strings.Builder
	sb.WriteString("02 0100 ")
	for i := range 256 {
		sb.WriteString(hex.EncodeToString([]byte{byte(i)}))
	}
	return sb.String()
}

func octets(n int) *[]byte { return ptr(bytes.Repeat([]byte{0x5a}, n)) }

func octetsHex(prefix string, n int) string { return prefix + strings.Repeat("5a", n) }

func bigChoiceWith(i int) *bigChoice {
	var c bigChoice
	reflect.ValueOf(&c).Elem().Field(1 + i).Set(reflect.ValueOf(ptr(uint8(i))))
	return &c
}

var vectors = []vector{
	// X.696 9: BOOLEAN.
	{"bool false", ptr(false), "00"},
	{"bool true", ptr(true), "ff"},

	// X.696 10.3: constrained non-negative INTEGER, 1/2/4/8 octets.
	{"uint8 0", ptr(uint8(0)), "00"},
	{"uint8 255", ptr(uint8(255)), "ff"},
	{"uint16", ptr(uint16(0x1234)), "1234"},
	{"uint32", ptr(uint32(0xdeadbeef)), "deadbeef"},
	{"uint64 1", ptr(uint64(1)), "0000000000000001"},
	{"uint64 max", ptr(uint64(math.MaxUint64)), "ffffffffffffffff"},
	{"named psid", ptr(psid(5)), "0000000000000005"},
	// X.696 10.7: constrained INTEGER with a negative lower bound.
	{"int8 -1", ptr(int8(-1)), "ff"},
	{"int8 -128", ptr(int8(-128)), "80"},
	{"int8 127", ptr(int8(127)), "7f"},
	{"int16 -2", ptr(int16(-2)), "fffe"},
	{"int32 -129", ptr(int32(-129)), "ffffff7f"},
	{"int64 -1", ptr(int64(-1)), "ffffffffffffffff"},
	{"int64", ptr(int64(0x0102030405060708)), "0102030405060708"},

	// X.696 10.4: semi-constrained INTEGER (lb >= 0), unsigned minimal octets.
	{"varint uint 0", &varU{0}, "01 00"},
	{"varint uint 127", &varU{127}, "01 7f"},
	{"varint uint 128", &varU{128}, "01 80"},
	{"varint uint 256", &varU{256}, "02 0100"},
	{"varint uint 2^64-1", &varU{math.MaxUint64}, "08 ffffffffffffffff"},
	{"varint uint16 65535", &varU16{65535}, "02 ffff"},
	// X.696 10.8: unconstrained INTEGER, two's complement minimal octets.
	{"varint int 0", &varI{0}, "01 00"},
	{"varint int 127", &varI{127}, "01 7f"},
	{"varint int 128", &varI{128}, "02 0080"},
	{"varint int -1", &varI{-1}, "01 ff"},
	{"varint int -128", &varI{-128}, "01 80"},
	{"varint int -129", &varI{-129}, "02 ff7f"},
	{"varint int min", &varI{math.MinInt64}, "08 8000000000000000"},
	{"varint int max", &varI{math.MaxInt64}, "08 7fffffffffffffff"},
	{"varint Go int", &varInt{-129}, "02 ff7f"},

	// X.696 11: ENUMERATED.
	{"enum 0", &enumU8{0}, "00"},
	{"enum 127", &enumU8{127}, "7f"},
	{"enum 128", &enumU8{128}, "82 0080"},
	{"enum 255", &enumU8{255}, "82 00ff"},
	{"enum -1", &enumI32{-1}, "81 ff"},
	{"enum -128", &enumI32{-128}, "81 80"},
	{"enum 1000", &enumI32{1000}, "82 03e8"},
	{"enum 2^64-1", &enumU64{math.MaxUint64}, "89 00ffffffffffffffff"},

	// X.696 14: OCTET STRING, fixed and variable size; X.696 8.6 lengths.
	{"fixed octets", ptr([4]byte{1, 2, 3, 4}), "01020304"},
	{"named fixed octets", ptr(hashedID8{1, 2, 3, 4, 5, 6, 7, 8}), "0102030405060708"},
	{"fixed octets size tag", &fixedBytes{[]byte{1, 2, 3}}, "010203"},
	{"empty octets", ptr([]byte{}), "00"},
	{"octets", ptr([]byte{0xaa, 0xbb}), "02 aabb"},
	{"length 127", octets(127), octetsHex("7f", 127)},
	{"length 128", octets(128), octetsHex("81 80", 128)},
	{"length 255", octets(255), octetsHex("81 ff", 255)},
	{"length 256", octets(256), octetsHex("82 0100", 256)},
	{"length 65536", octets(65536), octetsHex("83 010000", 65536)},
	// X.696 13.1: fixed-size BIT STRING, no length.
	{"fixed bits", &bitsField{[2]byte{0xa5, 0x0f}}, "a50f"},
	// X.696 13.3: variable-size BIT STRING.
	{"bitstring empty", &BitString{Bytes: []byte{}}, "01 00"},
	{"bitstring 3 bits", &BitString{Bytes: []byte{0xa0}, BitLength: 3}, "02 05 a0"},
	{"bitstring 9 bits", &BitString{Bytes: []byte{0xff, 0x80}, BitLength: 9}, "03 07 ff80"},
	{"bitstring 16 bits", &BitString{Bytes: []byte{0x12, 0x34}, BitLength: 16}, "03 00 1234"},

	// Character strings: length determinant + octets; size=N: fixed.
	{"string", ptr("abc"), "03 616263"},
	{"empty string", ptr(""), "00"},
	{"fixed string", &fixedString{"hi"}, "6869"},

	// OBJECT IDENTIFIER: length + X.690 8.19 contents (no tag in COER).
	{"oid secp256r1", ptr(asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}), "08 2a8648ce3d030107"},
	{"oid 2.999.3", ptr(asn1.ObjectIdentifier{2, 999, 3}), "03 883703"},
	{"oid 0.0", ptr(asn1.ObjectIdentifier{0, 0}), "01 00"},

	// NULL encodes to nothing; open types (X.696 30).
	{"null in sequence", &withNull{A: 1, B: 2}, "01 02"},
	{"open", &withOpen{Open{1, 2}}, "02 0102"},
	{"open empty", &withOpen{Open{}}, "00"},
	{"open tag", &openTag{0x1234}, "02 1234"},

	// X.696 16: SEQUENCE preamble with 9 optional fields: two octets.
	{"nine optional none", &nineOpt{}, "0000"},
	{"nine optional A and I", &nineOpt{A: ptr(uint8(1)), I: ptr(uint8(9))}, "8080 01 09"},
	{"nine optional all", &nineOpt{ptr(uint8(1)), ptr(uint8(2)), ptr(uint8(3)), ptr(uint8(4)),
		ptr(uint8(5)), ptr(uint8(6)), ptr(uint8(7)), ptr(uint8(8)), ptr(uint8(9))}, "ff80 010203040506070809"},
	{"optional and default", &mixedSeq{A: 1, C: []byte{}, D: true}, "40 01 00 ff"},
	{"optional present", &mixedSeq{A: 1, B: ptr(uint16(0x0203))}, "80 01 0203 00"},
	// X.696 16.2-16.5: extensible SEQUENCE.
	{"ext seq no additions", &extSeq{A: 5}, "00 05"},
	{"ext seq optional", &extSeq{A: 5, B: ptr(uint8(6))}, "40 05 06"},
	{"ext seq first addition", &extSeq{A: 5, C: ptr(uint16(0x0102))}, "80 05 020680 020102"},
	{"ext seq second addition", &extSeq{A: 5, D: []uint8{7}}, "80 05 020640 020107"},
	{"ext seq everything", &extSeq{A: 5, B: ptr(uint8(6)), C: ptr(uint16(1)), D: []uint8{}},
		"c0 05 06 0206c0 020001 0100"},
	// Unknown additions are kept and re-encoded.
	{"unknown addition", &extUnk{A: 5, C: ptr(uint16(0x0102)), U: []UnknownExtension{{Tag: 2, Raw: []byte{0xff}}}},
		"80 05 0205a0 020102 01ff"},
	{"unknown addition only", &extUnk{A: 5, U: []UnknownExtension{{Tag: 1, Raw: []byte{0xab, 0xcd}}}},
		"80 05 020640 02abcd"},
	{"unknown trailing clear bits", &extUnk{A: 5, C: ptr(uint16(0x0102)), U: []UnknownExtension{{Tag: 2}}},
		"80 05 020580 020102"},
	{"unknown addition 10 bits", &extUnk{A: 5, C: ptr(uint16(0x0102)), U: []UnknownExtension{{Tag: 9, Raw: []byte{1}}}},
		"80 05 03068040 020102 0101"},

	// A bitmap from an earlier version of the type, shorter than the two
	// additions of extUnk2, is kept as a length marker.
	{"shorter bitmap", &extUnk2{A: 5, C: ptr(uint16(0x0102)), U: []UnknownExtension{{Tag: 0}}},
		"80 05 020780 020102"},
	{"longer bitmap", &extUnk2{A: 5, D: ptr(uint8(9)), U: []UnknownExtension{{Tag: 3}}},
		"80 05 020440 0109"},
	{"canonical bitmap", &extUnk2{A: 5, D: ptr(uint8(9))}, "80 05 020640 0109"},

	// X.696 21 and 8.7: CHOICE.
	{"choice root 0", &extChoice{A: ptr(uint8(7))}, "80 07"},
	{"choice root 1", &extChoice{B: []byte{1}}, "81 0101"},
	{"choice extension", &extChoice{C: ptr(uint16(0x0304))}, "82 02 0304"},
	{"choice unknown extension", &extChoice{U: &UnknownExtension{Tag: 5, Raw: []byte{1, 2}}}, "85 02 0102"},
	{"choice null", &plainChoice{Y: &Null{}}, "81"},
	{"choice tag 62", bigChoiceWith(62), "be 3e"},
	{"choice tag 63", bigChoiceWith(63), "bf3f 3f"},
	{"choice tag 69", bigChoiceWith(69), "bf45 45"},

	// X.696 20: SEQUENCE OF (note []uint8 is []byte, an OCTET STRING).
	{"seq of 0", ptr([]uint16{}), "01 00"},
	{"seq of 1", ptr([]uint16{5}), "01 01 0005"},
	{"seq of 256", seqOf256(), seqOf256Hex()},
	{"seq of octets", ptr([][]byte{{1}, {}}), "01 02 0101 00"},
	{"seq of varint", &psidList{[]psid{1, 300}}, "01 02 0101 02012c"},
	{"seq of choice", ptr([]extChoice{{A: ptr(uint8(1))}, {C: ptr(uint16(2))}}), "01 02 8001 82020002"},

	// Pointers, nesting and Marshaler/Unmarshaler.
	{"nested pointers", &nested{P: &inner{X: 1}, PP: ptrPtr(uint8(2)), O: &inner{X: 3, Y: ptr(uint8(4))}},
		"80 0001 02 800304"},
	{"pointer to pointer", ptrPtr(uint16(0x0a0b)), "0a0b"},
	{"custom marshaler", &withTriple{T: triple{0x010203}}, "00 010203"},
	{"custom marshaler optional", &withTriple{T: triple{1}, P: &triple{2}}, "80 000001 000002"},
}

func TestVectors(t *testing.T) {
	for _, tc := range vectors {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.hex)
			got, err := Marshal(tc.val)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Marshal:\n got %x\nwant %x", got, want)
			}
			dst := reflect.New(reflect.TypeOf(tc.val).Elem())
			if err := Unmarshal(want, dst.Interface()); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !reflect.DeepEqual(dst.Interface(), tc.val) {
				t.Fatalf("Unmarshal:\n got %#v\nwant %#v", dst.Elem().Interface(), reflect.ValueOf(tc.val).Elem().Interface())
			}
		})
	}
}

// Marshal also takes values, not only pointers.
func TestMarshalValue(t *testing.T) {
	got, err := Marshal(extSeq{A: 5, C: ptr(uint16(0x0102))})
	if err != nil || !bytes.Equal(got, unhex(t, "80 05 020680 020102")) {
		t.Fatalf("got %x, %v", got, err)
	}
	got, err = Marshal(withTriple{T: triple{7}})
	if err != nil || !bytes.Equal(got, unhex(t, "00 000007")) {
		t.Fatalf("got %x, %v", got, err)
	}
}

// X.696 10.8 with big.Int: minimal two's complement.
func TestBigInt(t *testing.T) {
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	for _, tc := range []struct {
		v   *big.Int
		hex string
	}{
		{big.NewInt(0), "01 00"},
		{big.NewInt(127), "01 7f"},
		{big.NewInt(128), "02 0080"},
		{big.NewInt(-1), "01 ff"},
		{big.NewInt(-128), "01 80"},
		{big.NewInt(-129), "02 ff7f"},
		{new(big.Int).Sub(two64, big.NewInt(1)), "09 00ffffffffffffffff"},
		{new(big.Int).Neg(two64), "09 ff0000000000000000"},
	} {
		want := unhex(t, tc.hex+tc.hex)
		got, err := Marshal(&withBig{V: tc.v, W: *new(big.Int).Set(tc.v)})
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%v: got %x, %v; want %x", tc.v, got, err, want)
			continue
		}
		var back withBig
		if err := Unmarshal(want, &back); err != nil {
			t.Errorf("%v: Unmarshal: %v", tc.v, err)
			continue
		}
		if back.V.Cmp(tc.v) != 0 || back.W.Cmp(tc.v) != 0 {
			t.Errorf("%v: Unmarshal gave %v, %v", tc.v, back.V, &back.W)
		}
	}
}

// X.696 13.3: the encoder writes unused trailing bits as zero.
func TestBitStringClearsUnusedBits(t *testing.T) {
	got, err := Marshal(&BitString{Bytes: []byte{0xff}, BitLength: 1})
	if err != nil || !bytes.Equal(got, unhex(t, "02 07 80")) {
		t.Fatalf("got %x, %v", got, err)
	}
}

// X.696 8.7: long-form tag numbers beyond one subsequent octet.
func TestTags(t *testing.T) {
	for _, tc := range []struct {
		n   int
		hex string
	}{
		{0, "80"}, {62, "be"}, {63, "bf3f"}, {127, "bf7f"}, {128, "bf8100"}, {16383, "bfff7f"}, {16384, "bf818000"},
	} {
		enc := appendTag(nil, tc.n)
		if want := unhex(t, tc.hex); !bytes.Equal(enc, want) {
			t.Errorf("appendTag(%d) = %x, want %x", tc.n, enc, want)
		}
		n, rest, err := readTag(enc)
		if err != nil || n != tc.n || len(rest) != 0 {
			t.Errorf("readTag(%x) = %d, %x, %v", enc, n, rest, err)
		}
	}
}

func TestRichRoundTrip(t *testing.T) {
	for _, v := range []*rich{richValue(), richMinimal()} {
		enc, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		var back rich
		if err := Unmarshal(enc, &back); err != nil {
			t.Fatalf("Unmarshal: %v", err)
		}
		enc2, err := Marshal(&back)
		if err != nil {
			t.Fatalf("Marshal again: %v", err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip:\n%x\n%x", enc, enc2)
		}
		if back.Big != nil && back.Big.Cmp(v.Big) != 0 {
			t.Fatalf("Big = %v, want %v", back.Big, v.Big)
		}
		back.Big, v.Big = nil, nil
		if !reflect.DeepEqual(&back, v) {
			t.Fatalf("Unmarshal:\n got %+v\nwant %+v", back, *v)
		}
	}
}

// Decoding into a used value resets what the input does not set.
func TestUnmarshalResets(t *testing.T) {
	v := extSeq{A: 1, B: ptr(uint8(2)), C: ptr(uint16(3)), D: []uint8{4}}
	if err := Unmarshal(unhex(t, "00 05"), &v); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v, extSeq{A: 5}) {
		t.Fatalf("got %+v", v)
	}
	c := extChoice{A: ptr(uint8(1))}
	if err := Unmarshal(unhex(t, "81 00"), &c); err != nil {
		t.Fatal(err)
	}
	if c.A != nil || c.B == nil {
		t.Fatalf("got %+v", c)
	}
}
