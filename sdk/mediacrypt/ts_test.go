package mediacrypt

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// tsClip makes an MPEG-TS clip with ffmpeg: frames frames of w×h video
// in codec with a keyframe every gop frames, and an AAC sine tone.
func tsClip(t testing.TB, codec Codec, w, h, frames, gop int) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "clip.ts")
	args := []string{"-v", "error", "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=30", w, h),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-frames:v", fmt.Sprint(frames), "-pix_fmt", "yuv420p"}
	if codec == H265 {
		args = append(args, "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", fmt.Sprintf("keyint=%d:min-keyint=%d:log-level=error", gop, gop))
	} else {
		args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-g", fmt.Sprint(gop))
	}
	run(t, "ffmpeg", append(args, "-c:a", "aac", "-shortest", "-f", "mpegts", file)...)
	return file
}

// demuxed is a TS stream taken apart by the test, independently of the
// TSWriter: the packets of each PID, and of the video PID its PES
// headers, elementary stream and PCRs.
type demuxed struct {
	pids   map[uint16][][]byte
	heads  [][]byte // PES headers of the video PID, PES_packet_length zeroed
	es     []byte
	pcrs   [][]byte
	ccGaps int // continuity counter gaps on any PID
}

func demux(t *testing.T, stream []byte, video uint16) demuxed {
	t.Helper()
	if len(stream)%PacketSize != 0 || !IsTS(stream) {
		t.Fatalf("%d bytes: not whole TS packets", len(stream))
	}
	d := demuxed{pids: map[uint16][][]byte{}}
	cc := map[uint16]byte{}
	var pes []byte
	endPES := func() {
		if pes == nil {
			return
		}
		hdr, es, ok := splitPES(pes)
		if !ok {
			t.Fatalf("malformed PES %x", pes[:min(len(pes), 20)])
		}
		hdr = bytes.Clone(hdr)
		hdr[4], hdr[5] = 0, 0
		d.heads = append(d.heads, hdr)
		d.es = append(d.es, es...)
	}
	for p := range slices.Chunk(stream, PacketSize) {
		pid := uint16(p[1]&0x1f)<<8 | uint16(p[2])
		d.pids[pid] = append(d.pids[pid], p)
		if p[3]&0x10 != 0 {
			if last, ok := cc[pid]; ok && p[3]&0x0f != (last+1)&0x0f {
				d.ccGaps++
			}
			cc[pid] = p[3] & 0x0f
		}
		if pid != video {
			continue
		}
		af, at, ok := adaptationField(p)
		if !ok {
			t.Fatal("malformed adaptation field")
		}
		if len(af) > 0 && af[0]&0x10 != 0 {
			d.pcrs = append(d.pcrs, af[1:7])
		}
		if p[1]&0x40 != 0 {
			endPES()
			pes = []byte{}
		}
		pes = append(pes, p[at:]...)
	}
	endPES()
	return d
}

// videoPID is the PID of the one video stream of an ffmpeg TS clip.
func videoPID(t *testing.T, file string) uint16 {
	t.Helper()
	var probe struct {
		Streams []struct {
			ID        string `json:"id"`
			CodecType string `json:"codec_type"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(run(t, "ffprobe", "-v", "quiet", "-show_entries", "stream=id,codec_type", "-of", "json", file), &probe); err != nil {
		t.Fatal(err)
	}
	for _, s := range probe.Streams {
		var pid uint16
		if _, err := fmt.Sscanf(s.ID, "0x%x", &pid); err == nil && s.CodecType == "video" {
			return pid
		}
	}
	t.Fatalf("no video stream in %+v", probe)
	return 0
}

// TestRealTS is the MPEG-TS proof: H.264 and H.265 clips with an audio
// track, muxed by ffmpeg, encrypted. ffprobe still lists both streams
// and the video's size; the keyframe decoded from the encrypted TS is
// destroyed. The decrypted TS decodes to the original's frames bit for
// bit; its video elementary stream, PES headers (PTS, DTS) and PCRs are
// the original's, and the packets of every other PID (audio, PAT, PMT,
// SDT) are the original's byte for byte, in the encrypted TS too. The
// continuity counters of every PID run without a gap.
func TestRealTS(t *testing.T) {
	needFFmpeg(t)
	for _, c := range []struct {
		name        string
		codec       Codec
		w, h        int
		frames, gop int
		integrity   bool
	}{
		{"h264", H264, 640, 360, 30, 10, true},
		{"h265", H265, 640, 360, 20, 10, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			orig := tsClip(t, c.codec, c.w, c.h, c.frames, c.gop)
			in, err := os.ReadFile(orig)
			if err != nil {
				t.Fatal(err)
			}
			var enc bytes.Buffer
			st, err := EncryptTS(&enc, bytes.NewReader(in), DataKey{Plaintext: testKey, Key: "cam", Wrapped: testWrapped}, rand.Reader, Options{Integrity: c.integrity})
			if err != nil {
				t.Fatal(err)
			}
			if st.GOPs != c.frames/c.gop || st.PES != c.frames || st.Dropped != 0 || st.Encrypted < st.GOPs {
				t.Fatalf("stats %+v", st)
			}
			encFile := filepath.Join(t.TempDir(), "enc.ts")
			if err := os.WriteFile(encFile, enc.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			var probe struct {
				Streams []struct {
					CodecType string `json:"codec_type"`
					Width     int    `json:"width"`
					Height    int    `json:"height"`
				} `json:"streams"`
			}
			if err := json.Unmarshal(run(t, "ffprobe", "-v", "quiet", "-show_entries", "stream=codec_type,width,height", "-of", "json", encFile), &probe); err != nil {
				t.Fatal(err)
			}
			types := map[string]int{}
			for _, s := range probe.Streams {
				types[s.CodecType]++
				if s.CodecType == "video" && (s.Width != c.w || s.Height != c.h) {
					t.Fatalf("ffprobe of the encrypted TS: %+v", probe)
				}
			}
			if len(probe.Streams) != 2 || types["video"] != 1 || types["audio"] != 1 {
				t.Fatalf("ffprobe of the encrypted TS: %+v", probe)
			}
			want := decodeTS(t, orig)
			frame := c.w * c.h * 3 / 2
			if len(want) != c.frames*frame {
				t.Fatalf("the original decodes to %d bytes, want %d frames", len(want), c.frames)
			}
			if scrambled := decodeTS(t, encFile); len(scrambled) < frame {
				t.Fatal("ffmpeg decoded no frame of the encrypted TS")
			} else if p := psnr(scrambled, want, c.w, c.h); p >= 15 {
				t.Fatalf("the encrypted keyframe decodes at %.1f dB PSNR, want < 15", p)
			} else {
				t.Logf("%+v; the encrypted keyframe at %.1f dB PSNR; %d bytes in, %d encrypted", st, p, len(in), enc.Len())
			}

			var back bytes.Buffer
			dst, err := DecryptTS(t.Context(), &back, bytes.NewReader(enc.Bytes()), fixedKey)
			if err != nil || dst.Encrypted != st.Encrypted || dst.GOPs != st.GOPs || dst.Clear != 0 {
				t.Fatal(dst, err)
			}
			backFile := filepath.Join(t.TempDir(), "back.ts")
			if err := os.WriteFile(backFile, back.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(decodeTS(t, backFile), want) {
				t.Fatal("the decrypted TS decodes to other frames")
			}

			video := videoPID(t, orig)
			o, e, b := demux(t, in, video), demux(t, enc.Bytes(), video), demux(t, back.Bytes(), video)
			if !bytes.Equal(b.es, o.es) {
				t.Fatal("the decrypted video elementary stream differs from the original's")
			}
			if bytes.Equal(e.es, o.es) || len(e.es) <= len(o.es) {
				t.Fatal("the encrypted video elementary stream is not longer than the original's")
			}
			for _, x := range []demuxed{e, b} {
				if !slices.EqualFunc(x.heads, o.heads, bytes.Equal) || len(o.heads) != c.frames {
					t.Fatalf("%d PES headers, not the original's %d", len(x.heads), len(o.heads))
				}
				if !slices.EqualFunc(x.pcrs, o.pcrs, bytes.Equal) || len(o.pcrs) == 0 {
					t.Fatalf("PCRs %x, want the original's %x", x.pcrs, o.pcrs)
				}
				if x.ccGaps != 0 {
					t.Fatalf("%d continuity counter gaps", x.ccGaps)
				}
				for pid, pkts := range o.pids {
					if pid != video && !slices.EqualFunc(x.pids[pid], pkts, bytes.Equal) {
						t.Fatalf("PID %#x: %d packets, not the original's %d", pid, len(x.pids[pid]), len(pkts))
					}
				}
			}
			if len(o.pids) < 5 { // PAT, PMT, SDT, video, audio
				t.Fatalf("the clip has PIDs %v only", slices.Collect(func(yield func(uint16) bool) {
					for pid := range o.pids {
						if !yield(pid) {
							return
						}
					}
				}))
			}
		})
	}
}

// decodeTS returns the raw yuv420p frames ffmpeg decodes from the video
// of a TS file, one per picture (no frame dropped or repeated).
func decodeTS(t *testing.T, file string) []byte {
	t.Helper()
	return run(t, "ffmpeg", "-v", "quiet", "-err_detect", "ignore_err", "-i", file, "-map", "0:v", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
}

// synthAU is a synthetic H.264 access unit: an AUD, parameter sets and
// an IDR slice for a keyframe, else a non-IDR slice, of n bytes of data.
func synthAU(key bool, n int) []byte {
	au := []byte{0, 0, 0, 1, 0x09, 0xf0}
	slice := byte(0x41)
	if key {
		au = append(au, 0, 0, 0, 1, 0x67, 0x42, 0, 0x1e, 0, 0, 0, 1, 0x68, 0xce, 0x38, 0x80)
		slice = 0x65
	}
	au = append(au, 0, 0, 1, slice, 0x88)
	for i := range n {
		au = append(au, byte(i%251+1))
	}
	return append(au, 0x80)
}

// synthTS muxes access units as an MPEG-TS stream with the TSWriter's
// packetiser: a PAT, a PMT listing the H.264 PID 0x100, each AU a PES
// packet with a PTS and a PCR on its first packet, and between AUs a
// packet of "audio" PID 0x101.
func synthTS(aus [][]byte) []byte {
	section := func(sec []byte) []byte {
		sec[1], sec[2] = 0xb0|byte((len(sec)+4-3)>>8), byte(len(sec)+4-3)
		crc := crc32MPEG(sec)
		return append(append([]byte{0}, sec...), byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc))
	}
	pat := section([]byte{0, 0, 0, 0, 1, 0xc1, 0, 0, 0, 1, 0xe0 | 0x10, 0})
	pmt := section([]byte{2, 0, 0, 0, 1, 0xc1, 0, 0, 0xe1, 0x00, 0xf0, 0, 0x1b, 0xe1, 0x00, 0xf0, 0, 0x0f, 0xe1, 0x01, 0xf0, 0})
	var out []byte
	psi := &track{pid: pidPAT}
	p, _ := psi.packet(0, nil, pat, true)
	out = append(out, p...)
	psi = &track{pid: 0x1000}
	p, _ = psi.packet(0, nil, pmt, true)
	out = append(out, p...)
	video, audio := &track{pid: 0x100}, &track{pid: 0x101}
	for i, au := range aus {
		pes := append([]byte{0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5, 0x21, 0, 1, 0, byte(2*i + 1)}, au...)
		pcr := []byte{0x10, 0, 0, 0, byte(i), 0x7e, 0}
		if i%3 == 0 {
			pcr[0] |= 0x40 // random access
		}
		for start := true; len(pes) > 0; start = false {
			af := []byte(nil)
			if start {
				af = pcr
			}
			p, pes = video.packet(0, af, pes, start)
			out = append(out, p...)
		}
		p, _ = audio.packet(0, nil, []byte{0, 0, 1, 0xc0, 0, 3, 0x80, 0, 0, byte(i)}, true)
		out = append(out, p...)
	}
	return out
}

// synthAUs are n access units, a keyframe every 3.
func synthAUs(n int) [][]byte {
	var aus [][]byte
	for i := range n {
		aus = append(aus, synthAU(i%3 == 0, 100+i*97))
	}
	return aus
}

// TestTSLoss: a packet lost in a video PES packet drops that PES packet
// (counted) and nothing else; the stream around it, cut into writes of
// any size, encrypts and decrypts to the original access units, and
// the later GOPs start clean.
func TestTSLoss(t *testing.T) {
	aus := synthAUs(9)
	in := synthTS(aus)
	// The packets of AU 4 (a delta frame of GOP 2): drop its second.
	var pkts [][]byte
	for p := range slices.Chunk(in, PacketSize) {
		pkts = append(pkts, p)
	}
	pesStarts := 0
	lossy := []byte{}
	for i, p := range pkts {
		if p[2] == 0 && p[1]&0x1f == 1 && p[1]&0x40 != 0 {
			pesStarts++
		}
		if pesStarts == 5 && p[1]&0x40 == 0 && pkts[i-1][1]&0x40 != 0 && p[2] == 0 {
			continue
		}
		lossy = append(lossy, p...)
	}
	if len(lossy) != len(in)-PacketSize {
		t.Fatalf("the test dropped %d bytes", len(in)-len(lossy))
	}
	wantES := slices.Concat(slices.Concat(aus[:4]...), slices.Concat(aus[5:]...))
	dk := DataKey{Plaintext: testKey, Key: "cam", Wrapped: testWrapped}
	for _, chunk := range []int{1, 100, PacketSize, 7 * PacketSize, len(lossy)} {
		var enc bytes.Buffer
		tw, err := NewTSEncrypter(&enc, dk, rand.Reader, Options{Integrity: true})
		if err != nil {
			t.Fatal(err)
		}
		for c := range slices.Chunk(lossy, chunk) {
			if _, err := tw.Write(c); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if st := tw.Stats(); st.PES != 9 || st.Dropped != 1 || st.GOPs != 3 {
			t.Fatalf("writes of %d: stats %+v", chunk, st)
		}
		var back bytes.Buffer
		if st, err := DecryptTS(t.Context(), &back, bytes.NewReader(enc.Bytes()), fixedKey); err != nil || st.GOPs != 3 || st.Dropped != 0 {
			t.Fatalf("writes of %d: %+v %v", chunk, st, err)
		}
		if got := demux(t, back.Bytes(), 0x100); !bytes.Equal(got.es, wantES) || got.ccGaps != 0 {
			t.Fatalf("writes of %d: the decrypted stream's AUs are not the original's but AU 4", chunk)
		}
		if got := demux(t, enc.Bytes(), 0x100); len(got.pcrs) != 9 || !slices.EqualFunc(got.pids[0x101], demux(t, in, 0x100).pids[0x101], bytes.Equal) {
			t.Fatalf("writes of %d: %d PCRs, want all 9 (the dropped PES packet's too); or the audio changed", chunk, len(got.pcrs))
		}
	}
	if _, err := EncryptTS(io.Discard, bytes.NewReader(in[:len(in)-1]), dk, rand.Reader, Options{}); !errors.Is(err, ErrNotTS) {
		t.Fatalf("a cut packet: %v", err)
	}
	if _, err := EncryptTS(io.Discard, bytes.NewReader(in[1:]), dk, rand.Reader, Options{}); !errors.Is(err, ErrNotTS) {
		t.Fatalf("no sync byte: %v", err)
	}
}

// FuzzTS: the TSWriter never panics and writes whole TS packets; what it
// encrypts decrypts. The seed corpus is a synthetic stream.
func FuzzTS(f *testing.F) {
	f.Add(synthTS(synthAUs(4)))
	f.Add(synthTS(synthAUs(1))[:3*PacketSize])
	f.Fuzz(func(t *testing.T, stream []byte) {
		var enc bytes.Buffer
		_, err := EncryptTS(&enc, bytes.NewReader(stream), DataKey{Plaintext: testKey, Key: "cam", Wrapped: testWrapped}, rand.Reader, Options{})
		if enc.Len()%PacketSize != 0 {
			t.Fatalf("%d bytes out", enc.Len())
		}
		if err != nil {
			return
		}
		var back bytes.Buffer
		if _, err := DecryptTS(t.Context(), &back, bytes.NewReader(enc.Bytes()), fixedKey); err != nil {
			t.Fatalf("decrypting what was encrypted: %v", err)
		}
		if back.Len()%PacketSize != 0 {
			t.Fatalf("%d bytes back", back.Len())
		}
	})
}
