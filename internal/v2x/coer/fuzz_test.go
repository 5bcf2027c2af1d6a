package coer

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzUnmarshal checks that no input makes Unmarshal panic and that whatever
// decodes re-encodes to exactly the input (COER is canonical).
func FuzzUnmarshal(f *testing.F) {
	for _, v := range []*rich{richValue(), richMinimal()} {
		enc, err := Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	v := richMinimal()
	v.Choice = extChoice{U: &UnknownExtension{Tag: 70, Raw: []byte{1}}}
	v.Unknown = []UnknownExtension{{Tag: 2, Raw: []byte{}}}
	v.Big2 = *bigChoiceWith(69)
	enc, err := Marshal(v)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	v = richMinimal()
	v.Ext1 = richValue().Ext1
	v.Unknown = []UnknownExtension{{Tag: 0}} // a one-bit bitmap
	if enc, err = Marshal(v); err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Fuzz(func(t *testing.T, data []byte) {
		var r rich
		if err := Unmarshal(data, &r); err != nil {
			return
		}
		out, err := Marshal(&r)
		if err != nil {
			t.Fatalf("decoded %x but Marshal failed: %v", data, err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("round trip changed the encoding:\n in %x\nout %x", data, out)
		}
	})
}

// FuzzUnmarshalParts does the same for small types, selected by the first
// input byte, which the fuzzer explores faster than the whole rich struct.
func FuzzUnmarshalParts(f *testing.F) {
	news := []func() any{
		func() any { return new(extUnk) },
		func() any { return new(extChoice) },
		func() any { return new(extSeq) },
		func() any { return new(nested) },
		func() any { return new(withBig) },
		func() any { return new(enumU64) },
		func() any { return new(varInt) },
		func() any { return new(psidList) },
		func() any { return new(bigChoice) },
		func() any { return new([]extChoice) },
		func() any { return new(BitString) },
		func() any { return new(nineOpt) },
	}
	for _, tc := range vectors {
		for i, n := range news {
			if reflect.TypeOf(n()) == reflect.TypeOf(tc.val) {
				f.Add(append([]byte{byte(i)}, unhex(f, tc.hex)...))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		v := news[int(data[0])%len(news)]()
		if err := Unmarshal(data[1:], v); err != nil {
			return
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatalf("decoded %x but Marshal failed: %v", data[1:], err)
		}
		if !bytes.Equal(out, data[1:]) {
			t.Fatalf("round trip changed the encoding:\n in %x\nout %x", data[1:], out)
		}
	})
}
