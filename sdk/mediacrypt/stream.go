package mediacrypt

import (
	"context"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// seiStart is the start code of the SEI units mediacrypt inserts.
var seiStart = []byte{0, 0, 0, 1}

// Stats count what Encrypt or Decrypt did.
type Stats struct {
	Units     int   // NAL units read
	GOPs      int   // keyframes that started a GOP
	Encrypted int   // slices encrypted (or decrypted)
	Bytes     int64 // slice bytes encrypted (or decrypted)
	// Clear counts the slices outside any GOP: before the first keyframe
	// (Encrypt), or before the first key SEI (Decrypt: a player joining
	// mid-stream, or a stream whose first key SEI was removed).
	Clear int
}

// Encrypt reads an Annex-B stream from r and writes it to w with the
// selected slices encrypted under dk, a key SEI before each keyframe and,
// with opt.Integrity, an HMAC SEI closing each GOP. Units before the
// first keyframe stay clear. rand gives each GOP's nonce.
func Encrypt(w io.Writer, r io.Reader, dk DataKey, rand io.Reader, opt Options) (Stats, error) {
	var st Stats
	clearBytes := opt.ClearBytes
	if clearBytes == 0 {
		clearBytes = DefaultClearBytes
	}
	if opt.EveryN < 0 || opt.EveryN > 0xffff || clearBytes < 0 || clearBytes > 0xffff || len(dk.Wrapped) > 0xffff || len(dk.Key) > 0xffff {
		return st, fmt.Errorf("mediacrypt: EveryN and ClearBytes are 0 to 65535")
	}
	c := opt.Codec
	sp := newSplitter(r)
	var g *gop
	// Non-VCL units (parameter sets, SEI) wait for the next slice: when it
	// starts a keyframe they open its GOP, after its key SEI.
	var pending []nal
	flush := func() error {
		for _, u := range pending {
			g.add(u.body)
			if err := writeUnit(w, u.prefix, u.body); err != nil {
				return err
			}
		}
		pending = pending[:0]
		return nil
	}
	for {
		u, err := sp.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, err
		}
		st.Units++
		hdr, slice, key := c.header(u.body)
		if !slice {
			pending = append(pending, u)
			continue
		}
		if key && firstSlice(u.body, hdr) {
			if len(pending) > 0 && c.isAUD(pending[0].body) { // the AUD stays first
				g.add(pending[0].body)
				if err := writeUnit(w, pending[0].prefix, pending[0].body); err != nil {
					return st, err
				}
				pending = pending[1:]
			}
			if g, err = startGOP(w, c, g, dk, rand, opt, clearBytes); err != nil {
				return st, err
			}
			st.GOPs++
		}
		if err := flush(); err != nil {
			return st, err
		}
		g = st.slice(g, &u, hdr, key, true)
		if err := writeUnit(w, u.prefix, u.body); err != nil {
			return st, err
		}
	}
	if err := flush(); err != nil {
		return st, err
	}
	return st, closeGOP(w, c, g)
}

// startGOP closes the GOP prev and writes the key SEI of a new one,
// whose nonce it reads from rand:
//
//	0x01 nonce(8) BE16(every_n) BE16(clear_bytes) flags
//	BE16(len) key BE16(len) wrapped
func startGOP(w io.Writer, c Codec, prev *gop, dk DataKey, rand io.Reader, opt Options, clearBytes int) (*gop, error) {
	if err := closeGOP(w, c, prev); err != nil {
		return nil, err
	}
	var nonce [nonceSize]byte
	if _, err := io.ReadFull(rand, nonce[:]); err != nil {
		return nil, fmt.Errorf("mediacrypt: nonce: %w", err)
	}
	g, err := newGOP(dk.Plaintext, nonce, opt.EveryN, clearBytes, opt.Integrity)
	if err != nil {
		return nil, err
	}
	p := append([]byte{seiKey}, nonce[:]...)
	p = binary.BigEndian.AppendUint16(p, uint16(opt.EveryN))
	p = binary.BigEndian.AppendUint16(p, uint16(clearBytes))
	p = append(p, flags(opt.Integrity))
	p = binary.BigEndian.AppendUint16(p, uint16(len(dk.Key)))
	p = append(p, dk.Key...)
	p = binary.BigEndian.AppendUint16(p, uint16(len(dk.Wrapped)))
	sei := c.seiNAL(append(p, dk.Wrapped...))
	g.add(sei)
	return g, writeUnit(w, seiStart, sei)
}

func flags(integrity bool) byte {
	if integrity {
		return 1
	}
	return 0
}

// slice encrypts or decrypts a slice of g if g selects it, counting it
// into g's HMAC in its encrypted form, and returns g.
func (st *Stats) slice(g *gop, u *nal, hdr int, key, encrypt bool) *gop {
	if g == nil {
		st.Clear++
		return nil
	}
	if !encrypt {
		g.add(u.body)
	}
	if g.selects(key) {
		st.Encrypted++
		st.Bytes += int64(len(u.body) - hdr)
		u.body = g.crypt(u.body, hdr)
	}
	if encrypt {
		g.add(u.body)
	}
	return g
}

// firstSlice says whether a slice starts a picture: first_mb_in_slice is
// 0 (H.264) or first_slice_segment_in_pic_flag is 1 (H.265), both the
// first bit of the slice header being 1.
func firstSlice(body []byte, hdr int) bool { return len(body) > hdr && body[hdr]&0x80 != 0 }

// closeGOP writes the HMAC SEI of g, when it has one.
func closeGOP(w io.Writer, c Codec, g *gop) error {
	if g == nil || g.mac == nil {
		return nil
	}
	return writeUnit(w, seiStart, c.seiNAL(g.macPayload()))
}

func writeUnit(w io.Writer, prefix, body []byte) error {
	if _, err := w.Write(prefix); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}

// Decrypt reads a stream that Encrypt made (from its start or from any
// later point) and writes the original stream, without mediacrypt's SEIs,
// to w. unwrap turns each GOP's wrapped data key into the key; each
// distinct wrapped key is unwrapped once. Units before the first key SEI
// pass as they are. A GOP whose HMAC fails, or that ends without its
// HMAC SEI, is ErrIntegrity: Decrypt stops there.
func Decrypt(ctx context.Context, w io.Writer, r io.Reader, unwrap Unwrapper, codec Codec) (Stats, error) {
	var st Stats
	keys := map[string][]byte{}
	defer func() {
		for _, k := range keys {
			clear(k)
		}
	}()
	sp := newSplitter(r)
	var g *gop
	closed := true
	for {
		u, err := sp.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, err
		}
		if p := codec.ourSEI(u.body); p != nil {
			switch {
			case p[0] == seiMAC && g != nil:
				if err := g.verify(p); err != nil {
					return st, err
				}
				closed = true
			case p[0] == seiKey:
				if !closed {
					return st, ErrIntegrity
				}
				if g, err = openGOP(ctx, p, keys, unwrap); err != nil {
					return st, err
				}
				closed = g.mac == nil
				g.add(u.body)
				st.GOPs++
			case p[0] != seiMAC:
				return st, ErrFormat
			}
			continue
		}
		st.Units++
		if hdr, slice, key := codec.header(u.body); slice {
			g = st.slice(g, &u, hdr, key, false)
		} else {
			g.add(u.body)
		}
		if err := writeUnit(w, u.prefix, u.body); err != nil {
			return st, err
		}
	}
	if !closed {
		return st, ErrIntegrity
	}
	return st, nil
}

// openGOP reads a key SEI's payload and starts its GOP.
func openGOP(ctx context.Context, p []byte, keys map[string][]byte, unwrap Unwrapper) (*gop, error) {
	const fixed = 1 + nonceSize + 2 + 2 + 1
	if len(p) < fixed {
		return nil, ErrFormat
	}
	key, rest, ok := lengthPrefixed(p[fixed:])
	if !ok {
		return nil, ErrFormat
	}
	wrapped, rest, ok := lengthPrefixed(rest)
	if !ok || len(rest) != 0 {
		return nil, ErrFormat
	}
	id := key + "\x00" + wrapped
	dk, ok := keys[id]
	if !ok {
		var err error
		if dk, err = unwrap(ctx, key, wrapped); err != nil {
			return nil, fmt.Errorf("mediacrypt: unwrapping the data key: %w", err)
		}
		keys[id] = dk
	}
	nonce := [nonceSize]byte(p[1 : 1+nonceSize])
	everyN := int(binary.BigEndian.Uint16(p[9:]))
	clearBytes := int(binary.BigEndian.Uint16(p[11:]))
	return newGOP(dk, nonce, everyN, clearBytes, p[13]&1 != 0)
}

// lengthPrefixed reads BE16(len) bytes from b.
func lengthPrefixed(b []byte) (string, []byte, bool) {
	if len(b) < 2 {
		return "", nil, false
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+n {
		return "", nil, false
	}
	return string(b[2 : 2+n]), b[2+n:], true
}

// verify checks the HMAC SEI payload p of g.
func (g *gop) verify(p []byte) error {
	if g.mac == nil {
		return ErrIntegrity
	}
	want := g.macPayload()
	if !hmac.Equal(p, want) {
		return ErrIntegrity
	}
	return nil
}
