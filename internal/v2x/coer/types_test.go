package coer

import (
	"encoding/asn1"
	"errors"
	"math/big"
)

// Types shared by the tests, fuzz target and benchmarks.

type varU struct {
	V uint64 `coer:"varint"`
}

type varI struct {
	V int64 `coer:"varint"`
}

type varInt struct {
	V int `coer:"varint"`
}

type varU16 struct {
	V uint16 `coer:"varint"`
}

type enumU8 struct {
	V uint8 `coer:"enum"`
}

type enumI32 struct {
	V int32 `coer:"enum"`
}

type enumU64 struct {
	V uint64 `coer:"enum"`
}

type bitsField struct {
	V [2]byte `coer:"bits"`
}

type fixedBytes struct {
	V []byte `coer:"size=3"`
}

type fixedString struct {
	V string `coer:"size=2"`
}

type hashedID8 [8]byte

type psid uint64

type psidList struct {
	V []psid `coer:"varint"`
}

type withNull struct {
	A uint8
	N Null
	B uint8
}

type withOpen struct {
	O Open
}

type openTag struct {
	V uint16 `coer:"open"`
}

type nineOpt struct {
	A, B, C, D, E, F, G, H, I *uint8 `coer:"optional"`
}

type mixedSeq struct {
	A uint8
	B *uint16 `coer:"optional"`
	C []byte  `coer:"default"`
	D bool
	//lint:ignore U1000 an unexported field the codec must skip
	e int
	F string `coer:"-"`
	_ uint32
}

type extSeq struct {
	_ Extensible
	A uint8
	B *uint8  `coer:"optional"`
	C *uint16 `coer:"ext"`
	D []uint8 `coer:"ext"`
}

type extUnk struct {
	_ Extensible
	A uint8
	C *uint16            `coer:"ext"`
	U []UnknownExtension `coer:"unknown"`
}

type extUnk2 struct {
	_ Extensible
	A uint8
	C *uint16            `coer:"ext"`
	D *uint8             `coer:"ext"`
	U []UnknownExtension `coer:"unknown"`
}

type extChoice struct {
	_ Extensible
	_ Choice
	A *uint8
	B []byte
	C *uint16           `coer:"ext"`
	U *UnknownExtension `coer:"unknown"`
}

type plainChoice struct {
	_ Choice
	X *uint8
	Y *Null
}

type extChoiceNoUnknown struct {
	_ Choice
	_ Extensible
	X *uint8
}

// bigChoice has 70 alternatives, so that tags >= 63 take the long form.
type bigChoice struct {
	_                                                Choice
	F00, F01, F02, F03, F04, F05, F06, F07, F08, F09 *uint8
	F10, F11, F12, F13, F14, F15, F16, F17, F18, F19 *uint8
	F20, F21, F22, F23, F24, F25, F26, F27, F28, F29 *uint8
	F30, F31, F32, F33, F34, F35, F36, F37, F38, F39 *uint8
	F40, F41, F42, F43, F44, F45, F46, F47, F48, F49 *uint8
	F50, F51, F52, F53, F54, F55, F56, F57, F58, F59 *uint8
	F60, F61, F62, F63, F64, F65, F66, F67, F68, F69 *uint8
}

type inner struct {
	X uint8
	Y *uint8 `coer:"optional"`
}

type nested struct {
	P  *inner
	PP **uint8
	O  *inner `coer:"optional"`
}

// triple encodes itself as 3 big-endian octets.
type triple struct{ V uint32 }

func (t *triple) MarshalCOER() ([]byte, error) {
	if t.V >= 1<<24 {
		return nil, errors.New("triple out of range")
	}
	return []byte{byte(t.V >> 16), byte(t.V >> 8), byte(t.V)}, nil
}

func (t *triple) UnmarshalCOER(d []byte) ([]byte, error) {
	if len(d) < 3 {
		return d, errors.New("triple truncated")
	}
	t.V = uint32(d[0])<<16 | uint32(d[1])<<8 | uint32(d[2])
	return d[3:], nil
}

type withTriple struct {
	T triple
	P *triple `coer:"optional"`
}

type withBig struct {
	V *big.Int
	W big.Int
}

// rich exercises every rule; it is the fuzz target.
type rich struct {
	_       Extensible
	Flag    bool
	U8      uint8
	I64     int64
	Psid    psid     `coer:"varint"`
	Neg     int32    `coer:"varint"`
	Big     *big.Int `coer:"optional"`
	Kind    uint8    `coer:"enum"`
	Hash    hashedID8
	Bits    [2]byte `coer:"bits"`
	Data    []byte  `coer:"optional"`
	Label   string  `coer:"size=4"`
	BS      BitString
	OID     asn1.ObjectIdentifier `coer:"optional"`
	Nul     *Null                 `coer:"optional"`
	Raw     Open
	Wrapped *extUnk `coer:"open,optional"`
	Choice  extChoice
	List    []extChoice
	Psids   []uint32 `coer:"varint"`
	Inner   *extSeq  `coer:"default"`
	P1      *uint8   `coer:"optional"`
	P2      **uint16 `coer:"optional"`
	P3      []string `coer:"optional"`
	Custom  triple
	Plain   plainChoice
	Big2    bigChoice
	Ext1    *nested            `coer:"ext"`
	Ext2    *Null              `coer:"ext"`
	Unknown []UnknownExtension `coer:"unknown"`
}

func ptr[T any](v T) *T { return &v }

// richValue returns a rich value with every field set.
func richValue() *rich {
	p2 := ptr(uint16(0xbeef))
	var big2 bigChoice
	big2.F64 = ptr(uint8(64))
	return &rich{
		Flag:    true,
		U8:      200,
		I64:     -5,
		Psid:    0x20_40_95,
		Neg:     -300,
		Big:     new(big.Int).Lsh(big.NewInt(-3), 70),
		Kind:    130,
		Hash:    hashedID8{1, 2, 3, 4, 5, 6, 7, 8},
		Bits:    [2]byte{0xf0, 0x0f},
		Data:    []byte("data"),
		Label:   "ABCD",
		BS:      BitString{Bytes: []byte{0xb0}, BitLength: 4},
		OID:     asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7},
		Nul:     &Null{},
		Raw:     Open{0x80, 0x01},
		Wrapped: &extUnk{A: 9, C: ptr(uint16(7)), U: []UnknownExtension{{Tag: 3, Raw: []byte{0xaa}}}},
		Choice:  extChoice{C: ptr(uint16(0x0102))},
		List: []extChoice{
			{A: ptr(uint8(1))},
			{B: []byte{}},
			{U: &UnknownExtension{Tag: 9, Raw: []byte{1, 2, 3}}},
		},
		Psids:  []uint32{0, 127, 128, 1 << 31},
		Inner:  &extSeq{A: 1, B: ptr(uint8(2)), C: ptr(uint16(3)), D: []uint8{4, 5}},
		P1:     ptr(uint8(0x11)),
		P2:     &p2,
		P3:     []string{"x", ""},
		Custom: triple{V: 0x010203},
		Plain:  plainChoice{Y: &Null{}},
		Big2:   big2,
		Ext1: &nested{
			P:  &inner{X: 1},
			PP: ptrPtr(uint8(2)),
			O:  &inner{X: 3, Y: ptr(uint8(4))},
		},
		Ext2:    &Null{},
		Unknown: []UnknownExtension{{Tag: 3, Raw: []byte{0x42}}, {Tag: 5}},
	}
}

func ptrPtr[T any](v T) **T {
	p := &v
	return &p
}

// richMinimal is a rich value with only the mandatory fields set.
func richMinimal() *rich {
	return &rich{
		Label:  "    ",
		BS:     BitString{Bytes: []byte{}},
		Raw:    Open{},
		Choice: extChoice{A: ptr(uint8(0))},
		List:   []extChoice{},
		Psids:  []uint32{},
		Plain:  plainChoice{X: ptr(uint8(1))},
		Big2:   bigChoice{F00: ptr(uint8(0))},
	}
}
