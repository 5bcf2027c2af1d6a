package mediacrypt

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// units splits a stream and joins it back.
func units(t testing.TB, stream []byte) ([]nal, []byte) {
	t.Helper()
	sp := newSplitter(bytes.NewReader(stream))
	var us []nal
	var back []byte
	for {
		u, err := sp.next()
		if errors.Is(err, io.EOF) {
			return us, back
		}
		if err != nil {
			t.Fatal(err)
		}
		us = append(us, u)
		back = append(append(back, u.prefix...), u.body...)
	}
}

func TestSplitterRoundTrip(t *testing.T) {
	stream := []byte{0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 9, 9, 0}
	us, back := units(t, stream)
	if !bytes.Equal(back, stream) {
		t.Fatalf("joined %x, want %x", back, stream)
	}
	want := [][]byte{{0x67, 1, 2}, {0x68, 3}, {0x65, 9, 9, 0}}
	if len(us) != len(want) {
		t.Fatalf("%d units, want %d", len(us), len(want))
	}
	for i, u := range us {
		if !bytes.Equal(u.body, want[i]) {
			t.Errorf("unit %d: %x, want %x", i, u.body, want[i])
		}
	}
}

// TestEscape: escaping leaves no start code in a unit and unescape undoes
// it, for every RBSP.
func TestEscape(t *testing.T) {
	for _, rbsp := range [][]byte{{0, 0, 0}, {0, 0, 1, 0, 0, 2}, {0, 0, 3, 0, 0, 3}, {1, 0, 0, 0, 0, 0, 0, 7}} {
		e := escape(nil, rbsp)
		if bytes.Contains(e, []byte{0, 0, 1}) || bytes.Contains(e, []byte{0, 0, 0}) || bytes.Contains(e, []byte{0, 0, 2}) {
			t.Errorf("escape(%x) = %x has a start code", rbsp, e)
		}
		if got := unescape(e); !bytes.Equal(got, rbsp) {
			t.Errorf("unescape(escape(%x)) = %x", rbsp, got)
		}
	}
}

func FuzzSplitter(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0x65, 1, 0, 0, 1, 0x41, 2})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, stream []byte) {
		if _, back := units(t, stream); !bytes.Equal(back, stream) {
			t.Fatalf("joined %x, want %x", back, stream)
		}
		if e := escape(nil, stream); !bytes.Equal(unescape(e), stream) {
			t.Fatalf("escape does not round-trip %x", stream)
		}
	})
}

// FuzzDecrypt: Decrypt never panics on any input.
func FuzzDecrypt(f *testing.F) {
	f.Add([]byte{0, 0, 1, 6, 5, 17, 'm', 'i', 'm', 'a', '-', 'm', 'e', 'd', 'i', 'a', '-', 'c', 'r', 'y', 'p', 't', 1, 0x80})
	f.Fuzz(func(t *testing.T, stream []byte) {
		for _, c := range []Codec{H264, H265} {
			_, _ = Decrypt(t.Context(), io.Discard, bytes.NewReader(stream), fixedKey, c)
		}
	})
}
