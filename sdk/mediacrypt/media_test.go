package mediacrypt

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var testKey = bytes.Repeat([]byte{0x42}, 16)

const testWrapped = "mima:v1:test-wrapped-key"

// fixedKey unwraps testWrapped to testKey, as mima would.
func fixedKey(_ context.Context, key, wrapped string) ([]byte, error) {
	if key != "cam" || wrapped != testWrapped {
		return nil, fmt.Errorf("unknown wrapped key %q", wrapped)
	}
	return bytes.Clone(testKey), nil
}

// needFFmpeg skips without ffmpeg, or fails under MIMA_REQUIRE_FFMPEG=1
// (scripts/test installs it).
func needFFmpeg(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("MIMA_REQUIRE_FFMPEG") == "1" {
				t.Fatalf("%s is needed (apt-get install ffmpeg): %v", tool, err)
			}
			t.Skipf("no %s (apt-get install ffmpeg)", tool)
		}
	}
}

func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%s %v: %v\n%s", name, args, err, ee.Stderr)
		}
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return out
}

// clip makes a real clip with ffmpeg's test source: frames frames of
// size, a keyframe every gop frames, as a raw Annex-B stream.
func clip(t testing.TB, codec Codec, size string, frames, gop int) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "clip")
	args := []string{"-v", "error", "-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=30", "-frames:v", fmt.Sprint(frames), "-pix_fmt", "yuv420p"}
	if codec == H265 {
		args = append(args, "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", fmt.Sprintf("keyint=%d:min-keyint=%d:log-level=error", gop, gop), "-f", "hevc", file)
	} else {
		args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-g", fmt.Sprint(gop), "-f", "h264", file)
	}
	run(t, "ffmpeg", args...)
	return file
}

// decode returns the raw yuv420p frames ffmpeg decodes from a stream,
// concealing errors as a player would.
func decode(t *testing.T, file string) []byte {
	t.Helper()
	return run(t, "ffmpeg", "-v", "quiet", "-err_detect", "ignore_err", "-i", file, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
}

// psnr is the PSNR in dB of the luma of two frames of w×h.
func psnr(a, b []byte, w, h int) float64 {
	var se float64
	for i := range w * h {
		d := float64(a[i]) - float64(b[i])
		se += d * d
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(se/float64(w*h)))
}

// TestRealVideo is the proof with real video: 4K and 1080p clips in
// H.264 and H.265 from ffmpeg, encrypted. ffprobe still reads the
// encrypted stream's codec, size and frames; the keyframe ffmpeg decodes
// from it is destroyed (PSNR against the original under 15 dB); the
// decrypted stream is the original byte for byte and decodes to the same
// frames bit for bit. Integrity mode is on for half of the cases.
func TestRealVideo(t *testing.T) {
	needFFmpeg(t)
	for _, c := range []struct {
		name          string
		codec         Codec
		size          string
		w, h          int
		frames, gop   int
		everyN        int
		integrity     bool
		wantEncrypted int
	}{
		{"h264-1080p", H264, "1920x1080", 1920, 1080, 12, 4, 0, true, 3},
		{"h264-4k", H264, "3840x2160", 3840, 2160, 4, 2, 0, false, 2},
		{"h265-1080p", H265, "1920x1080", 1920, 1080, 8, 4, 2, false, 0},
		{"h265-4k", H265, "3840x2160", 3840, 2160, 4, 2, 0, true, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			orig := clip(t, c.codec, c.size, c.frames, c.gop)
			in, err := os.ReadFile(orig)
			if err != nil {
				t.Fatal(err)
			}
			var enc bytes.Buffer
			st, err := Encrypt(&enc, bytes.NewReader(in), DataKey{Plaintext: testKey, Key: "cam", Wrapped: testWrapped}, rand.Reader, Options{Codec: c.codec, EveryN: c.everyN, Integrity: c.integrity})
			if err != nil {
				t.Fatal(err)
			}
			if st.GOPs != c.frames/c.gop || st.Encrypted < st.GOPs || (c.wantEncrypted > 0 && st.Encrypted != c.wantEncrypted) {
				t.Fatalf("stats %+v", st)
			}
			encFile := filepath.Join(t.TempDir(), "enc")
			if err := os.WriteFile(encFile, enc.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			var probe struct {
				Streams []struct {
					Width  int `json:"width"`
					Height int `json:"height"`
				} `json:"streams"`
			}
			if err := json.Unmarshal(run(t, "ffprobe", "-v", "quiet", "-show_entries", "stream=width,height", "-of", "json", encFile), &probe); err != nil {
				t.Fatal(err)
			}
			if len(probe.Streams) != 1 || probe.Streams[0].Width != c.w || probe.Streams[0].Height != c.h {
				t.Fatalf("ffprobe of the encrypted stream: %+v", probe)
			}
			want := decode(t, orig)
			frame := c.w * c.h * 3 / 2
			if len(want) != c.frames*frame {
				t.Fatalf("the original decodes to %d bytes, want %d frames", len(want), c.frames)
			}
			scrambled := decode(t, encFile)
			if len(scrambled) < frame {
				t.Fatalf("ffmpeg decoded no frame of the encrypted stream")
			}
			p := psnr(scrambled, want, c.w, c.h)
			if p >= 15 {
				t.Fatalf("the encrypted keyframe decodes at %.1f dB PSNR, want < 15", p)
			}
			t.Logf("%+v; the encrypted keyframe at %.1f dB PSNR", st, p)
			var back bytes.Buffer
			if dst, err := Decrypt(t.Context(), &back, bytes.NewReader(enc.Bytes()), fixedKey, c.codec); err != nil || dst.Encrypted != st.Encrypted {
				t.Fatal(dst, err)
			}
			if !bytes.Equal(back.Bytes(), in) {
				t.Fatal("the decrypted stream differs from the original")
			}
			backFile := filepath.Join(t.TempDir(), "back")
			if err := os.WriteFile(backFile, back.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(decode(t, backFile), want) {
				t.Fatal("the decrypted stream decodes to other frames")
			}
		})
	}
}

// encryptClip encrypts a small H.264 clip of 3 GOPs and returns the
// original and the encrypted stream.
func encryptClip(t *testing.T, opt Options) (in, enc []byte) {
	t.Helper()
	needFFmpeg(t)
	in, err := os.ReadFile(clip(t, H264, "320x240", 9, 3))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := Encrypt(&b, bytes.NewReader(in), DataKey{Plaintext: testKey, Key: "cam", Wrapped: testWrapped}, rand.Reader, opt); err != nil {
		t.Fatal(err)
	}
	return in, b.Bytes()
}

// TestIntegrity: with integrity on, dropping any one NAL unit, or changing
// a byte of any, is ErrIntegrity (or, where the change hits a mediacrypt
// SEI, ErrFormat or a failed unwrap); the untouched stream decrypts.
func TestIntegrity(t *testing.T) {
	_, enc := encryptClip(t, Options{Integrity: true})
	us, _ := units(t, enc)
	join := func(skip int, change func([]byte) []byte) []byte {
		var b []byte
		for i, u := range us {
			body := u.body
			if i == skip {
				if change == nil {
					continue
				}
				body = change(bytes.Clone(body))
			}
			b = append(append(b, u.prefix...), body...)
		}
		return b
	}
	if st, err := Decrypt(t.Context(), io.Discard, bytes.NewReader(join(-1, nil)), fixedKey, H264); err != nil || st.Clear != 0 || st.GOPs != 3 {
		t.Fatal(st, err)
	}
	for i, u := range us {
		if len(u.body) < 4 {
			continue
		}
		// Without its first key SEI, a stream looks like one joined
		// mid-stream: its slices up to the next key SEI count as clear.
		dropped := join(i, nil)
		if st, err := Decrypt(t.Context(), io.Discard, bytes.NewReader(dropped), fixedKey, H264); err == nil && st.Clear == 0 {
			t.Errorf("unit %d (type %d) dropped: no error", i, u.body[0]&0x1f)
		}
		altered := join(i, func(b []byte) []byte { b[len(b)-2] ^= 0x04; return b })
		if st, err := Decrypt(t.Context(), io.Discard, bytes.NewReader(altered), fixedKey, H264); err == nil && st.Clear == 0 {
			t.Errorf("unit %d (type %d) altered: no error", i, u.body[0]&0x1f)
		}
	}
}

// TestStartMidStream: a player joining after the first GOP decrypts from
// the next keyframe on, with the key from its SEI.
func TestStartMidStream(t *testing.T) {
	in, enc := encryptClip(t, Options{EveryN: 2})
	seis := 0
	at := bytes.Index(enc, seiUUID[:])
	second := bytes.Index(enc[at+1:], seiUUID[:]) + at + 1
	// Back to the start code of the second key SEI.
	cut := bytes.LastIndex(enc[:second], []byte{0, 0, 0, 1})
	var back bytes.Buffer
	if _, err := Decrypt(t.Context(), &back, bytes.NewReader(enc[cut:]), fixedKey, H264); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(in, back.Bytes()) || back.Len() == 0 {
		t.Fatalf("the stream from the second GOP (%d bytes) is not the original's end", back.Len())
	}
	for _, u := range must(units(t, enc)) {
		if H264.ourSEI(u.body) != nil {
			seis++
		}
	}
	if seis != 3 {
		t.Fatalf("%d key SEIs, want one per GOP", seis)
	}
}

func must(us []nal, _ []byte) []nal { return us }
