// Package mediacrypt protects live video at the elementary-stream level:
// it encrypts the slice data of the keyframes (and optionally of every
// Nth other slice) of H.264 and H.265 Annex-B streams with SM4-CTR under a
// data key from mima, leaving NAL headers, slice headers, parameter sets
// and emulation prevention intact, so the stream still parses and plays,
// scrambled. Each keyframe is preceded by an SEI (user data unregistered)
// with the wrapped data key, so a player can start mid-stream; an
// integrity mode adds an HMAC-SM3 of each GOP in another SEI. The formats
// are in docs/media.md.
package mediacrypt

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// Codec is the video coding of a stream.
type Codec int

// The codecs mediacrypt knows.
const (
	H264 Codec = iota // ITU-T H.264 / GB/T 20090.10-style AVC
	H265              // ITU-T H.265 HEVC
)

// ParseCodec reads "h264" or "h265".
func ParseCodec(s string) (Codec, error) {
	switch s {
	case "h264", "avc":
		return H264, nil
	case "h265", "hevc":
		return H265, nil
	}
	return 0, fmt.Errorf("mediacrypt: unknown codec %q; use h264 or h265", s)
}

// DefaultClearBytes is how many RBSP bytes of a slice stay clear after
// the NAL header by default: enough for the slice header of the streams
// of common encoders, so a decoder still finds each slice and frame.
const DefaultClearBytes = 32

// Options say which slices to encrypt.
type Options struct {
	Codec Codec
	// EveryN, when above 0, encrypts every Nth non-keyframe slice too.
	EveryN int
	// ClearBytes of each slice's RBSP stay clear; 0 means DefaultClearBytes.
	ClearBytes int
	// Integrity adds an HMAC-SM3 of each GOP, so that a dropped, added or
	// altered NAL unit is detected.
	Integrity bool
}

// DataKey is a data key of mima (POST /v1/keys/{name}/datakey): the SM4
// key, the name of the mima key that wrapped it and its wrapped form,
// which mima unwraps for whoever may decrypt with that key.
type DataKey struct {
	Plaintext []byte
	Key       string
	Wrapped   string
}

// Unwrapper returns the data key wrapped under a mima key
// (sdk.Client.Decrypt).
type Unwrapper func(ctx context.Context, key, wrapped string) ([]byte, error)

// Errors of Decrypt.
var (
	// ErrIntegrity: a GOP's HMAC does not verify or counts other units.
	ErrIntegrity = errors.New("mediacrypt: a GOP was altered, or units were dropped or added")
	// ErrFormat: an SEI of mediacrypt does not parse.
	ErrFormat = errors.New("mediacrypt: malformed mediacrypt SEI")
)

// seiUUID is the uuid_iso_iec_11578 of mediacrypt's SEI messages.
var seiUUID = [16]byte{0x6d, 0x69, 0x6d, 0x61, 0x2d, 0x6d, 0x65, 0x64, 0x69, 0x61, 0x2d, 0x63, 0x72, 0x79, 0x70, 0x74} // "mima-media-crypt"

const (
	seiKey      = 1 // a GOP's key SEI
	seiMAC      = 2 // a GOP's HMAC SEI
	nonceSize   = 8
	userDataSEI = 5 // payloadType user_data_unregistered
	macLabel    = "mima mediacrypt gop mac"
)

// gop is the state of the GOP being encrypted or decrypted.
type gop struct {
	ctr    cipher.Block
	nonce  [nonceSize]byte
	index  uint32 // encrypted units so far
	slices int    // non-keyframe slices so far
	everyN int
	clear  int
	mac    hashWriter // nil without integrity
	units  uint32
	closed bool // its HMAC SEI is written
}

type hashWriter interface {
	io.Writer
	Sum([]byte) []byte
}

// header returns the NAL header size, the unit type, and whether it is a
// slice and a keyframe slice.
func (c Codec) header(b []byte) (size int, slice, key bool) {
	if c == H265 {
		if len(b) < 2 {
			return len(b), false, false
		}
		t := b[0] >> 1 & 0x3f
		return 2, t < 32, t >= 16 && t <= 23
	}
	if len(b) < 1 {
		return 0, false, false
	}
	t := b[0] & 0x1f
	return 1, t >= 1 && t <= 5, t == 5
}

// seiHeader is the NAL header of a (prefix) SEI.
func (c Codec) seiHeader() []byte {
	if c == H265 {
		return []byte{39 << 1, 1}
	}
	return []byte{6}
}

func (c Codec) isAUD(b []byte) bool {
	if c == H265 {
		return len(b) >= 2 && b[0]>>1&0x3f == 35
	}
	return len(b) >= 1 && b[0]&0x1f == 9
}

func (c Codec) isSEI(b []byte) bool {
	if c == H265 {
		return len(b) >= 2 && b[0]>>1&0x3f == 39
	}
	return len(b) >= 1 && b[0]&0x1f == 6
}

// crypt encrypts or decrypts (SM4-CTR is its own inverse) the slice data
// of a slice NAL unit in place of body, and returns the new body.
func (g *gop) crypt(body []byte, hdr int) []byte {
	rbsp := unescape(body[hdr:])
	// The last byte holds the stop bit and stays clear, so that the unit
	// never ends in a zero byte.
	if len(rbsp) > g.clear+1 {
		var iv [sm4.BlockSize]byte
		copy(iv[:], g.nonce[:])
		binary.BigEndian.PutUint32(iv[nonceSize:], g.index)
		region := rbsp[g.clear : len(rbsp)-1]
		cipher.NewCTR(g.ctr, iv[:]).XORKeyStream(region, region)
	}
	g.index++
	return escape(append([]byte(nil), body[:hdr]...), rbsp)
}

// selects says whether a slice of the GOP is encrypted.
func (g *gop) selects(key bool) bool {
	if key {
		return true
	}
	g.slices++
	return g.everyN > 0 && g.slices%g.everyN == 0
}

// seiNAL builds an SEI NAL unit with one user_data_unregistered message.
func (c Codec) seiNAL(payload []byte) []byte {
	rbsp := []byte{userDataSEI}
	for n := len(seiUUID) + len(payload); ; n -= 255 {
		if n < 255 {
			rbsp = append(rbsp, byte(n))
			break
		}
		rbsp = append(rbsp, 255)
	}
	rbsp = append(rbsp, seiUUID[:]...)
	rbsp = append(rbsp, payload...)
	rbsp = append(rbsp, 0x80) // rbsp_trailing_bits
	return escape(c.seiHeader(), rbsp)
}

// ourSEI returns the payload of a mediacrypt SEI, or nil for other units.
func (c Codec) ourSEI(body []byte) []byte {
	if !c.isSEI(body) {
		return nil
	}
	hdr, _, _ := c.header(body)
	rbsp := unescape(body[hdr:])
	typ, rest := seiNumber(rbsp)
	size, rest := seiNumber(rest)
	if typ != userDataSEI || size <= len(seiUUID) || size > len(rest) || [16]byte(rest[:16]) != seiUUID {
		return nil
	}
	return rest[16:size]
}

// seiNumber reads an SEI payload type or size (ff bytes, then the rest).
func seiNumber(b []byte) (int, []byte) {
	n := 0
	for len(b) > 0 {
		c := b[0]
		b = b[1:]
		n += int(c)
		if c != 255 {
			return n, b
		}
	}
	return -1, nil
}

func newGOP(dk []byte, nonce [nonceSize]byte, everyN, clearBytes int, integrity bool) (*gop, error) {
	block, err := sm4.NewCipher(dk)
	if err != nil {
		return nil, fmt.Errorf("mediacrypt: the data key: %w", err)
	}
	g := &gop{ctr: block, nonce: nonce, everyN: everyN, clear: clearBytes}
	if integrity {
		k := hmac.New(sm3.New, dk)
		k.Write([]byte(macLabel))
		g.mac = hmac.New(sm3.New, k.Sum(nil))
		g.mac.Write(nonce[:])
	}
	return g, nil
}

// add counts a unit of the GOP into its HMAC.
func (g *gop) add(body []byte) {
	if g == nil || g.mac == nil {
		return
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(body)))
	g.mac.Write(n[:])
	g.mac.Write(body)
	g.units++
}

// macPayload is the payload of the GOP's HMAC SEI:
//
//	0x02 nonce(8) BE32(units) HMAC-SM3(32)
func (g *gop) macPayload() []byte {
	p := append([]byte{seiMAC}, g.nonce[:]...)
	p = binary.BigEndian.AppendUint32(p, g.units)
	return g.mac.Sum(p)
}
