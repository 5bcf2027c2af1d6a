package device

import (
	"bytes"
	"context"
	"math/big"
	"slices"
	"testing"
)

// TestWipe checks that Wipe clears the key bytes every Software key holds.
func TestWipe(t *testing.T) {
	ctx := context.Background()
	s := NewSoftware()
	for _, typ := range []KeyType{SM4, SM2, HMACSM3} {
		stored, err := s.Generate(ctx, typ)
		if err != nil {
			t.Fatal(err)
		}
		k, err := s.Open(ctx, typ, stored)
		if err != nil {
			t.Fatal(err)
		}
		if typ == SM4 {
			if k, err = k.(Deriver).Derive(ctx, []byte("child")); err != nil {
				t.Fatal(err)
			}
		}
		var words []big.Word
		if k, ok := k.(*sm2Key); ok {
			words = k.priv.D.Bits()
		}
		Wipe(k)
		var held []byte
		switch k := k.(type) {
		case derivedSM4Key:
			held = k.key
		case *hmacKey:
			held = k.key
		case *sm2Key:
			if k.priv.D.Sign() != 0 || slices.ContainsFunc(words, func(w big.Word) bool { return w != 0 }) {
				t.Errorf("sm2: the scalar survives Wipe")
			}
			continue
		}
		if len(held) == 0 || !bytes.Equal(held, make([]byte, len(held))) {
			t.Errorf("%s: %d key bytes survive Wipe", typ, len(held))
		}
	}
}
