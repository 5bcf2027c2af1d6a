package ieee1609

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/mimacrypto/mima/internal/v2x/coer"
)

// fuzzDecoder checks that decoding arbitrary bytes as the type newV makes
// never panics, and that whatever decodes re-encodes to exactly the
// input (COER is canonical). The samples are the seeds.
func fuzzDecoder(f *testing.F, newV func() any) {
	files, _ := filepath.Glob("testdata/coer/*.dat")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v := newV()
		if coer.Unmarshal(b, v) != nil {
			return
		}
		out, err := coer.Marshal(v)
		if err != nil {
			t.Fatalf("decoded but does not encode: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("decoded %x, re-encoded %x", b, out)
		}
	})
}

func FuzzData(f *testing.F)        { fuzzDecoder(f, func() any { return new(Data) }) }
func FuzzCertificate(f *testing.F) { fuzzDecoder(f, func() any { return new(Certificate) }) }
func FuzzScmsPdu(f *testing.F)     { fuzzDecoder(f, func() any { return new(ScmsPdu) }) }
func FuzzCrlContents(f *testing.F) { fuzzDecoder(f, func() any { return new(CrlContents) }) }
func FuzzSignedCertificateRequest(f *testing.F) {
	fuzzDecoder(f, func() any { return new(SignedCertificateRequest) })
}
