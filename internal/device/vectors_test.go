package device_test

import (
	"bytes"
	"testing"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"github.com/mimacrypto/mima/internal/device/devicetest"
)

func TestSM3Vectors(t *testing.T) {
	for _, v := range devicetest.LoadVectors(t).SM3 {
		if got := sm3.Sum(v.Message); !bytes.Equal(got[:], v.Digest) {
			t.Errorf("%s: got %x, want %x", v.Source, got, v.Digest)
		}
	}
}

func TestSM4Vectors(t *testing.T) {
	for _, v := range devicetest.LoadVectors(t).SM4 {
		if v.Iterations > 1 && testing.Short() {
			t.Logf("%s: skipped in -short", v.Source)
			continue
		}
		block, err := sm4.NewCipher(v.Key)
		if err != nil {
			t.Fatal(err)
		}
		buf := bytes.Clone(v.Plaintext)
		for range v.Iterations {
			block.Encrypt(buf, buf)
		}
		if !bytes.Equal(buf, v.Ciphertext) {
			t.Errorf("%s: got %x, want %x", v.Source, buf, v.Ciphertext)
		}
	}
}
