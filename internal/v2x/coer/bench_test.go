package coer

import "testing"

// Results for benchCert (11 fields, nested SEQUENCE, CHOICE, SEQUENCE OF and
// an extension addition; 90 encoded bytes), go test -bench . -benchmem on a
// shared 2-CPU AMD EPYC, linux/amd64, Go 1.26 (range over several runs):
//
//	BenchmarkMarshal     650-1100 ns/op   256 B/op   1 allocs/op
//	BenchmarkUnmarshal   880-1375 ns/op   272 B/op   8 allocs/op

type benchValidity struct {
	Start    uint32
	Duration uint16
}

type benchID struct {
	_    Extensible
	_    Choice
	Name *string
	Hash *hashedID8
	None *Null
}

type benchCert struct {
	_         Extensible
	Version   uint8
	Type      uint8 `coer:"enum"`
	Issuer    hashedID8
	ID        benchID
	CracaID   [3]byte
	CrlSeries uint16
	Validity  benchValidity
	Psids     []psid         `coer:"varint"`
	Region    *benchValidity `coer:"optional"`
	Key       []byte
	Flags     *[1]byte `coer:"ext,bits"`
}

func benchValue() *benchCert {
	return &benchCert{
		Version:   3,
		Type:      1,
		Issuer:    hashedID8{1, 2, 3, 4, 5, 6, 7, 8},
		ID:        benchID{Name: ptr("obu.example")},
		CracaID:   [3]byte{1, 2, 3},
		CrlSeries: 7,
		Validity:  benchValidity{Start: 600000000, Duration: 0x1234},
		Psids:     []psid{32, 38, 0x20409f},
		Region:    &benchValidity{Start: 1, Duration: 2},
		Key:       make([]byte, 33),
		Flags:     &[1]byte{0x80},
	}
}

func BenchmarkMarshal(b *testing.B) {
	v := benchValue()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	enc, err := Marshal(benchValue())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		var v benchCert
		if err := Unmarshal(enc, &v); err != nil {
			b.Fatal(err)
		}
	}
}
