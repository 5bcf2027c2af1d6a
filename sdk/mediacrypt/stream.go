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
	// PES counts the video PES packets of an MPEG-TS stream, access units
	// of an RTP stream.
	PES int
	// Dropped counts the video PES packets (MPEG-TS) or access units (RTP)
	// dropped because a packet of theirs was lost, reordered or malformed,
	// or they outgrew the bound on buffering.
	Dropped int
}

// emitter receives the units an encryptor or decryptor writes.
type emitter func(prefix, body []byte) error

// writerEmitter writes units to w as an Annex-B stream.
func writerEmitter(w io.Writer) emitter {
	return func(prefix, body []byte) error { return writeUnit(w, prefix, body) }
}

// encryptor is Encrypt's state, fed one NAL unit at a time.
type encryptor struct {
	dk         *DataKey // read at each keyframe: it may change between GOPs
	rand       io.Reader
	opt        Options
	clearBytes int
	emit       emitter
	g          *gop
	// Non-VCL units (parameter sets, SEI) wait for the next slice: when it
	// starts a keyframe they open its GOP, after its key SEI.
	pending []nal
	st      *Stats
}

// checkOptions checks opt and dk for Encrypt and returns opt with its
// defaults filled in.
func checkOptions(dk DataKey, opt Options) (Options, error) {
	if opt.ClearBytes == 0 {
		opt.ClearBytes = DefaultClearBytes
	}
	if opt.EveryN < 0 || opt.EveryN > 0xffff || opt.ClearBytes < 0 || opt.ClearBytes > 0xffff || len(dk.Wrapped) > 0xffff || len(dk.Key) > 0xffff {
		return opt, fmt.Errorf("mediacrypt: EveryN and ClearBytes are 0 to 65535")
	}
	return opt, nil
}

// newEncryptor encrypts with opt as checkOptions returned it.
func newEncryptor(dk *DataKey, rand io.Reader, opt Options, st *Stats, emit emitter) *encryptor {
	return &encryptor{dk: dk, rand: rand, opt: opt, clearBytes: opt.ClearBytes, emit: emit, st: st}
}

// Encrypt reads an Annex-B stream from r and writes it to w with the
// selected slices encrypted under dk, a key SEI before each keyframe and,
// with opt.Integrity, an HMAC SEI closing each GOP. Units before the
// first keyframe stay clear. rand gives each GOP's nonce.
func Encrypt(w io.Writer, r io.Reader, dk DataKey, rand io.Reader, opt Options) (Stats, error) {
	var st Stats
	opt, err := checkOptions(dk, opt)
	if err != nil {
		return st, err
	}
	e := newEncryptor(&dk, rand, opt, &st, writerEmitter(w))
	if err := eachUnit(r, e.unit); err != nil {
		return st, err
	}
	return st, e.close()
}

// eachUnit calls fn with each NAL unit of the Annex-B stream r.
func eachUnit(r io.Reader, fn func(nal) error) error {
	sp := newSplitter(r)
	for {
		u, err := sp.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(u); err != nil {
			return err
		}
	}
}

// unit encrypts one unit, emitting it (or holding it with the pending
// non-VCL units).
func (e *encryptor) unit(u nal) error {
	e.st.Units++
	c := e.opt.Codec
	hdr, slice, key := c.header(u.body)
	if !slice {
		e.pending = append(e.pending, u)
		return nil
	}
	if key && firstSlice(u.body, hdr) {
		if len(e.pending) > 0 && c.isAUD(e.pending[0].body) { // the AUD stays first
			e.g.add(e.pending[0].body)
			if err := e.emit(e.pending[0].prefix, e.pending[0].body); err != nil {
				return err
			}
			e.pending = e.pending[1:]
		}
		if err := e.startGOP(); err != nil {
			return err
		}
		e.st.GOPs++
	}
	if err := e.flush(); err != nil {
		return err
	}
	e.g = e.st.slice(e.g, &u, hdr, key, true)
	return e.emit(u.prefix, u.body)
}

// flush emits the pending units: at the end of a stream, or of a PES
// packet or access unit, which they must stay in.
func (e *encryptor) flush() error {
	for _, u := range e.pending {
		e.g.add(u.body)
		if err := e.emit(u.prefix, u.body); err != nil {
			return err
		}
	}
	e.pending = e.pending[:0]
	return nil
}

// close flushes the pending units and closes the last GOP.
func (e *encryptor) close() error {
	if err := e.flush(); err != nil {
		return err
	}
	return e.closeGOP()
}

// startGOP closes the current GOP and emits the key SEI of a new one,
// whose nonce it reads from rand:
//
//	0x01 nonce(8) BE16(every_n) BE16(clear_bytes) flags
//	BE16(len) key BE16(len) wrapped
func (e *encryptor) startGOP() error {
	if err := e.closeGOP(); err != nil {
		return err
	}
	var nonce [nonceSize]byte
	if _, err := io.ReadFull(e.rand, nonce[:]); err != nil {
		return fmt.Errorf("mediacrypt: nonce: %w", err)
	}
	g, err := newGOP(e.dk.Plaintext, nonce, e.opt.EveryN, e.clearBytes, e.opt.Integrity)
	if err != nil {
		return err
	}
	e.g = g
	p := append([]byte{seiKey}, nonce[:]...)
	p = binary.BigEndian.AppendUint16(p, uint16(e.opt.EveryN))
	p = binary.BigEndian.AppendUint16(p, uint16(e.clearBytes))
	p = append(p, flags(e.opt.Integrity))
	p = binary.BigEndian.AppendUint16(p, uint16(len(e.dk.Key)))
	p = append(p, e.dk.Key...)
	p = binary.BigEndian.AppendUint16(p, uint16(len(e.dk.Wrapped)))
	sei := e.opt.Codec.seiNAL(append(p, e.dk.Wrapped...))
	g.add(sei)
	return e.emit(seiStart, sei)
}

// closeGOP emits the HMAC SEI of the current GOP, when it has one.
func (e *encryptor) closeGOP() error {
	g := e.g
	if g == nil || g.mac == nil || g.closed {
		return nil
	}
	g.closed = true
	return e.emit(seiStart, e.opt.Codec.seiNAL(g.macPayload()))
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

func writeUnit(w io.Writer, prefix, body []byte) error {
	if _, err := w.Write(prefix); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}

// decryptor is Decrypt's state, fed one NAL unit at a time.
type decryptor struct {
	codec  Codec
	unwrap Unwrapper
	keys   map[string][]byte // unwrapped data keys by key name and wrapped key
	emit   emitter
	g      *gop
	closed bool // the GOP needs no more HMAC SEI
	st     *Stats
}

// newDecryptor decrypts with the data keys unwrapped so far in keys,
// adding those it unwraps.
func newDecryptor(codec Codec, unwrap Unwrapper, keys map[string][]byte, st *Stats, emit emitter) *decryptor {
	return &decryptor{codec: codec, unwrap: unwrap, keys: keys, emit: emit, closed: true, st: st}
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
	defer wipe(keys)
	d := newDecryptor(codec, unwrap, keys, &st, writerEmitter(w))
	if err := eachUnit(r, func(u nal) error { return d.unit(ctx, u) }); err != nil {
		return st, err
	}
	return st, d.close()
}

// unit decrypts one unit and emits it, or takes in a mediacrypt SEI.
func (d *decryptor) unit(ctx context.Context, u nal) error {
	if p := d.codec.ourSEI(u.body); p != nil {
		switch {
		case p[0] == seiMAC && d.g != nil:
			if err := d.g.verify(p); err != nil {
				return err
			}
			d.closed = true
		case p[0] == seiKey:
			if !d.closed {
				return ErrIntegrity
			}
			g, err := openGOP(ctx, p, d.keys, d.unwrap)
			if err != nil {
				return err
			}
			d.g, d.closed = g, g.mac == nil
			g.add(u.body)
			d.st.GOPs++
		case p[0] != seiMAC:
			return ErrFormat
		}
		return nil
	}
	d.st.Units++
	if hdr, slice, key := d.codec.header(u.body); slice {
		d.g = d.st.slice(d.g, &u, hdr, key, false)
	} else {
		d.g.add(u.body)
	}
	return d.emit(u.prefix, u.body)
}

// close checks that the last GOP got its HMAC SEI.
func (d *decryptor) close() error {
	if !d.closed {
		return ErrIntegrity
	}
	return nil
}

// wipe clears unwrapped data keys.
func wipe(keys map[string][]byte) {
	for _, k := range keys {
		clear(k)
	}
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
