package mediacrypt

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"io"
	"os"
	"testing"

	"github.com/emmansun/gmsm/sm4"
)

// BenchmarkEncrypt4K encrypts one second of a 4K 30 fps H.264 stream
// (a keyframe a second): the MB/s reported are of the whole stream, and
// ns/op is the CPU time of one second of video on one core.
func BenchmarkEncrypt4K(b *testing.B) {
	needFFmpeg(b)
	in, err := os.ReadFile(clip(b, H264, "3840x2160", 30, 30))
	if err != nil {
		b.Fatal(err)
	}
	dk := DataKey{Plaintext: testKey, Key: "cam", Wrapped: testWrapped}
	b.SetBytes(int64(len(in)))
	var st Stats
	for b.Loop() {
		if st, err = Encrypt(io.Discard, bytes.NewReader(in), dk, rand.Reader, Options{Codec: H264}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(st.Bytes), "keyframe-bytes/op")
}

// BenchmarkSM4CTR is the raw SM4-CTR rate to compare with.
func BenchmarkSM4CTR(b *testing.B) {
	block, _ := sm4.NewCipher(testKey)
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		cipher.NewCTR(block, make([]byte, 16)).XORKeyStream(buf, buf)
	}
}

// BenchmarkEncryptTS4K is BenchmarkEncrypt4K with the stream in MPEG-TS
// (and an audio track): demux, PES reassembly, encryption and remux. The
// MB/s are of the whole TS; packets/s is what a relay sustains on a core.
func BenchmarkEncryptTS4K(b *testing.B) {
	needFFmpeg(b)
	in, err := os.ReadFile(tsClip(b, H264, 3840, 2160, 30, 30))
	if err != nil {
		b.Fatal(err)
	}
	dk := DataKey{Plaintext: testKey, Key: "cam", Wrapped: testWrapped}
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := EncryptTS(io.Discard, bytes.NewReader(in), dk, rand.Reader, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(in)/PacketSize)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}
