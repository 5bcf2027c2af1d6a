package mediacrypt

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"os"
	"slices"
	"testing"
)

// accessUnits groups the NAL units of an Annex-B stream into access
// units: a parameter set or SEI after a slice, or a slice starting a
// picture, begins the next.
func accessUnits(t *testing.T, stream []byte) [][][]byte {
	t.Helper()
	us, _ := units(t, stream)
	var aus [][][]byte
	vcl := false
	for _, u := range us {
		_, slice, _ := H264.header(u.body)
		if len(aus) == 0 || vcl && (!slice || firstSlice(u.body, 1)) {
			aus = append(aus, nil)
			vcl = false
		}
		aus[len(aus)-1] = append(aus[len(aus)-1], u.body)
		vcl = vcl || slice
	}
	return aus
}

// rtpPackets packetizes access units as a camera would (RFC 6184 mode 1):
// the SPS and PPS in a STAP-A, other units up to 1000 bytes alone, larger
// ones in FU-A fragments of 1000 bytes; sequence numbers wrap.
func rtpPackets(aus [][][]byte) [][]byte {
	var pkts [][]byte
	seq := uint16(65530)
	add := func(ts uint32, payload []byte) {
		p := make([]byte, 12, 12+len(payload))
		p[0], p[1] = 0x80, 96
		binary.BigEndian.PutUint16(p[2:], seq)
		binary.BigEndian.PutUint32(p[4:], ts)
		binary.BigEndian.PutUint32(p[8:], 0xcafe)
		pkts = append(pkts, append(p, payload...))
		seq++
	}
	for i, au := range aus {
		ts := uint32(i * 3000)
		for j := 0; j < len(au); j++ {
			u := au[j]
			switch {
			case u[0]&0x1f == 7 && j+1 < len(au) && au[j+1][0]&0x1f == 8:
				stap := []byte{stapA}
				for _, s := range au[j : j+2] {
					stap = append(binary.BigEndian.AppendUint16(stap, uint16(len(s))), s...)
				}
				add(ts, stap)
				j++
			case len(u) <= 1000:
				add(ts, u)
			default:
				for rest, first := u[1:], true; len(rest) > 0; first = false {
					n := min(len(rest), 1000)
					fh := u[0] & 0x1f
					if first {
						fh |= 0x80
					}
					if n == len(rest) {
						fh |= 0x40
					}
					add(ts, append([]byte{u[0]&0xe0 | fuA, fh}, rest[:n]...))
					rest = rest[n:]
				}
			}
		}
		pkts[len(pkts)-1][1] |= 0x80
	}
	return pkts
}

// depacketize returns the NAL units of single NAL unit and FU-A packets.
func depacketize(t *testing.T, pkts [][]byte, mtu int) [][]byte {
	t.Helper()
	var us [][]byte
	var fu []byte
	for i, p := range pkts {
		if len(p) > mtu || binary.BigEndian.Uint16(p[2:]) != binary.BigEndian.Uint16(pkts[0][2:])+uint16(i) {
			t.Fatalf("packet %d: %d bytes, sequence number %d", i, len(p), binary.BigEndian.Uint16(p[2:]))
		}
		b := p[12:]
		if b[0]&0x1f != fuA {
			us = append(us, bytes.Clone(b))
			continue
		}
		if b[1]&0x80 != 0 {
			fu = []byte{b[0]&0xe0 | b[1]&0x1f}
		}
		fu = append(fu, b[2:]...)
		if b[1]&0x40 != 0 {
			us = append(us, fu)
		}
	}
	return us
}

// TestRTP: the RTP/H.264 packets of a real clip (STAP-A, FU-A) through an
// RTP encrypter and decrypter give back the clip's NAL units; the
// encrypted packets fit the MTU, carry FU-A, one marker per access unit,
// and the keyframes' slices encrypted. A packet lost in a delta frame of
// the second GOP drops that access unit only; the rest decrypts, its HMACs
// verifying.
func TestRTP(t *testing.T) {
	needFFmpeg(t)
	stream, err := os.ReadFile(clip(t, H264, "640x360", 9, 3))
	if err != nil {
		t.Fatal(err)
	}
	aus := accessUnits(t, stream)
	if len(aus) != 9 {
		t.Fatalf("%d access units, want 9", len(aus))
	}
	pkts := rtpPackets(aus)
	const mtu = 1200
	relay := func(pkts [][]byte) (enc, back [][]byte, est, dst Stats) {
		collect := func(to *[][]byte) func([]byte) error {
			return func(p []byte) error { *to = append(*to, bytes.Clone(p)); return nil }
		}
		e, err := NewRTPEncrypter(collect(&enc), mtu, DataKey{Plaintext: testKey, Key: "cam", Wrapped: testWrapped}, rand.Reader, Options{Integrity: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts {
			if err := e.Packet(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		d := NewRTPDecrypter(t.Context(), collect(&back), mtu, fixedKey)
		for _, p := range enc {
			if err := d.Packet(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		return enc, back, e.Stats(), d.Stats()
	}
	enc, back, est, dst := relay(pkts)
	want := slices.Concat(aus...)
	if got := depacketize(t, back, mtu); !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("%d units back, not the clip's %d", len(got), len(want))
	}
	markers, fus := 0, 0
	for _, p := range enc {
		markers += int(p[1] >> 7)
		if p[12]&0x1f == fuA {
			fus++
		}
	}
	encUnits := depacketize(t, enc, mtu)
	keySlices := 0
	for _, u := range encUnits {
		if u[0]&0x1f == 5 {
			keySlices++
			if slices.ContainsFunc(want, func(w []byte) bool { return bytes.Equal(w, u) }) {
				t.Fatal("a keyframe slice went out in clear")
			}
		}
	}
	if est.GOPs != 3 || est.PES != 9 || est.Dropped != 0 || dst.Encrypted != est.Encrypted || markers < 9 || fus == 0 || keySlices == 0 {
		t.Fatalf("encrypter %+v, decrypter %+v; %d markers, %d FU-A packets, %d keyframe slices", est, dst, markers, fus, keySlices)
	}

	// Lose the second packet of access unit 4.
	first := 0
	for i, p := range pkts {
		if binary.BigEndian.Uint32(p[4:]) == 4*3000 {
			first = i
			break
		}
	}
	lossy := slices.Delete(slices.Clone(pkts), first+1, first+2)
	_, back, est, _ = relay(lossy)
	want = slices.Concat(slices.Concat(aus[:4]...), slices.Concat(aus[5:]...))
	if got := depacketize(t, back, mtu); est.Dropped != 1 || !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("with a packet lost: %+v, %d units back, want %d", est, len(got), len(want))
	}
}

// FuzzRTP: an RTP encrypter never panics on any packet.
func FuzzRTP(f *testing.F) {
	f.Add([]byte{0x80, 0xe0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x7c, 0x85, 1, 2, 3})
	f.Add([]byte{0xb0, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3, 4, 0x18, 0, 2, 0x67, 0x42, 1})
	f.Fuzz(func(t *testing.T, p []byte) {
		e, err := NewRTPEncrypter(func([]byte) error { return nil }, 0, DataKey{Plaintext: testKey, Key: "cam", Wrapped: testWrapped}, rand.Reader, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_ = e.Packet(p)
		_ = e.Packet(p)
		_ = e.Close()
	})
}
