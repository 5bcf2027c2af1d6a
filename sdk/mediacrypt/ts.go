package mediacrypt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
)

// MPEG-TS carriage (ISO/IEC 13818-1, ITU-T H.222.0): the video PES packets
// of the H.264 and H.265 streams a PMT lists are reassembled, their
// elementary stream bytes go through the encryptor or decryptor, and the
// new PES packets are cut into 188-byte packets again in the places of the
// old ones. Every other packet passes byte for byte.

// PacketSize is the size of an MPEG-TS packet.
const PacketSize = 188

const (
	tsSync    = 0x47
	pidPAT    = 0
	pidNull   = 0x1fff
	tsPayload = PacketSize - 4
	// maxPES bounds a video PES packet held in memory.
	maxPES = 32 << 20
)

// ErrNotTS: the input is not MPEG-TS of 188-byte packets.
var ErrNotTS = errors.New("mediacrypt: not an MPEG-TS stream (a sync byte 0x47 every 188 bytes)")

// IsTS says whether b starts like an MPEG-TS stream: a whole packet or
// more, and a sync byte at the start of each of its first five packets.
func IsTS(b []byte) bool {
	n := min(len(b)/PacketSize, 5)
	for i := range n {
		if b[i*PacketSize] != tsSync {
			return false
		}
	}
	return n > 0
}

// videoCodec maps a PMT stream_type to a codec.
func videoCodec(streamType byte) (Codec, bool) {
	switch streamType {
	case 0x1b:
		return H264, true
	case 0x24:
		return H265, true
	}
	return 0, false
}

// coder is an encryptor or decryptor as a TS track or an RTP stream
// drives it: unit by unit, with the end of each PES packet or access unit
// (end) and of the stream (close).
type coder struct {
	unit       func(nal) error
	end, close func() error
}

// newCoder makes the coder of a track of codec c writing to emit.
type newCoder func(c Codec, emit emitter) coder

func encryptCoder(dk *DataKey, rand io.Reader, opt Options, st *Stats) newCoder {
	return func(c Codec, emit emitter) coder {
		o := opt
		o.Codec = c
		e := newEncryptor(dk, rand, o, st, emit)
		return coder{unit: e.unit, end: e.flush, close: e.close}
	}
}

func decryptCoder(ctx context.Context, unwrap Unwrapper, keys map[string][]byte, st *Stats) newCoder {
	return func(c Codec, emit emitter) coder {
		d := newDecryptor(c, unwrap, keys, st, emit)
		return coder{unit: func(u nal) error { return d.unit(ctx, u) }, end: func() error { return nil }, close: d.close}
	}
}

// TSWriter takes an MPEG-TS stream and writes it to its underlying writer
// with the video of its H.264 and H.265 tracks encrypted (NewTSEncrypter)
// or decrypted (NewTSDecrypter). A video PES packet is held until the
// next one of its track starts, and the packets of other PIDs that came
// meanwhile with it, so that the output keeps the input's order. A PES
// packet that lost a packet (a gap in the continuity counter) is dropped.
type TSWriter struct {
	w       io.Writer
	coder   newCoder
	st      Stats
	pmt     map[uint16]bool   // PMT PIDs, from the PAT
	psi     map[uint16][]byte // PAT and PMT sections being assembled
	tracks  map[uint16]*track // H.264 and H.265 PIDs, from the PMTs
	queue   []*entry          // output held while a video PES packet is open
	partial []byte            // the start of a packet split across writes
	keys    map[string][]byte // unwrapped data keys (decryption)
	dk      DataKey           // the data key (encryption)
	err     error
}

// entry is the output of one input packet: the packet itself, or what
// replaced a packet of a video PES packet once that was complete.
type entry struct {
	pkts [][]byte
	open *track // the track whose PES packet this waits for
}

// track is a video PID.
type track struct {
	pid      uint16
	c        coder
	open     bool   // a PES packet is being collected
	pes      []byte // its bytes so far
	slots    []slot // its TS packets
	out      []byte // the new PES packet
	cc       int    // continuity counter of the last packet in, -1 before it
	damaged  bool   // the PES packet lost a packet
	outCC    byte   // continuity counter of the last packet out
	numbered bool   // outCC is set
	streamID byte   // of the last PES packet
	done     bool   // the coder was closed
}

// slot is a TS packet of a PES packet being collected, and its entry.
type slot struct {
	e   *entry
	pkt []byte
}

// NewTSEncrypter returns a TSWriter that encrypts the keyframes of the
// H.264 and H.265 tracks of an MPEG-TS stream, each track as Encrypt
// would its elementary stream (opt.Codec is taken from the PMT).
func NewTSEncrypter(w io.Writer, dk DataKey, rand io.Reader, opt Options) (*TSWriter, error) {
	opt, err := checkOptions(dk, opt)
	if err != nil {
		return nil, err
	}
	t := newTSWriter(w)
	t.dk = dk
	t.coder = encryptCoder(&t.dk, rand, opt, &t.st)
	return t, nil
}

// SetDataKey makes the GOPs from the next keyframe on use dk (a TSWriter
// of NewTSEncrypter; a key rotation of a live stream).
func (t *TSWriter) SetDataKey(dk DataKey) error {
	if _, err := checkOptions(dk, Options{}); err != nil {
		return err
	}
	t.dk = dk
	return nil
}

// NewTSDecrypter returns a TSWriter that decrypts what a TSWriter of
// NewTSEncrypter made, each track as Decrypt would its elementary stream.
func NewTSDecrypter(ctx context.Context, w io.Writer, unwrap Unwrapper) *TSWriter {
	t := newTSWriter(w)
	t.keys = map[string][]byte{}
	t.coder = decryptCoder(ctx, unwrap, t.keys, &t.st)
	return t
}

func newTSWriter(w io.Writer) *TSWriter {
	return &TSWriter{w: w, pmt: map[uint16]bool{}, psi: map[uint16][]byte{}, tracks: map[uint16]*track{}}
}

// EncryptTS is Encrypt for an MPEG-TS stream carrying H.264 or H.265.
func EncryptTS(w io.Writer, r io.Reader, dk DataKey, rand io.Reader, opt Options) (Stats, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	t, err := NewTSEncrypter(bw, dk, rand, opt)
	if err != nil {
		return Stats{}, err
	}
	return copyTS(bw, t, r)
}

// DecryptTS is Decrypt for an MPEG-TS stream that EncryptTS made.
func DecryptTS(ctx context.Context, w io.Writer, r io.Reader, unwrap Unwrapper) (Stats, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	return copyTS(bw, NewTSDecrypter(ctx, bw, unwrap), r)
}

func copyTS(bw *bufio.Writer, t *TSWriter, r io.Reader) (Stats, error) {
	_, err := io.Copy(t, r)
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return t.Stats(), err
}

// Stats returns what the TSWriter did so far.
func (t *TSWriter) Stats() Stats { return t.st }

// Write takes the next bytes of the stream; packets may be split across
// calls. After an error, every call returns it.
func (t *TSWriter) Write(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	n := len(p)
	if len(t.partial) > 0 {
		k := min(PacketSize-len(t.partial), len(p))
		t.partial = append(t.partial, p[:k]...)
		p = p[k:]
		if len(t.partial) < PacketSize {
			return n, nil
		}
		if t.err = t.packet(t.partial); t.err != nil {
			return 0, t.err
		}
		t.partial = t.partial[:0]
	}
	for ; len(p) >= PacketSize; p = p[PacketSize:] {
		if t.err = t.packet(p[:PacketSize]); t.err != nil {
			return 0, t.err
		}
	}
	t.partial = append(t.partial, p...)
	return n, nil
}

// Close ends the stream: the open PES packets are finished (with the
// integrity mode's last HMAC SEI) and everything held is written. It
// does not close the underlying writer.
func (t *TSWriter) Close() error {
	if t.err != nil {
		return t.err
	}
	defer wipe(t.keys)
	if len(t.partial) > 0 {
		t.err = ErrNotTS
		return t.err
	}
	pids := make([]uint16, 0, len(t.tracks))
	for pid := range t.tracks {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	for _, pid := range pids {
		if t.err = t.endPES(t.tracks[pid], true); t.err != nil {
			return t.err
		}
	}
	return nil
}

// packet handles one packet of the input.
func (t *TSWriter) packet(p []byte) error {
	if p[0] != tsSync {
		return ErrNotTS
	}
	pid := uint16(p[1]&0x1f)<<8 | uint16(p[2])
	pusi := p[1]&0x40 != 0
	af, at, ok := adaptationField(p)
	var payload []byte
	if ok {
		payload = p[at:]
	}
	if pid == pidPAT || t.pmt[pid] {
		t.section(pid, pusi, payload)
	}
	tr := t.tracks[pid]
	if tr == nil {
		return t.pass(p)
	}
	if p[3]&0x10 != 0 { // a payload: the continuity counter moves on
		cc := int(p[3] & 0x0f)
		discontinuity := len(af) > 0 && af[0]&0x80 != 0
		if tr.cc >= 0 && cc != (tr.cc+1)&0x0f && !discontinuity {
			if cc == tr.cc {
				return nil // a duplicate packet
			}
			tr.damaged = true
		}
		tr.cc = cc
	}
	if pusi && ok && len(payload) > 0 {
		if err := t.endPES(tr, false); err != nil {
			return err
		}
		tr.open, tr.damaged = true, false
	}
	if !tr.open { // not in a PES packet: before the first, or p is malformed
		return t.pass(tr.number(bytes.Clone(p)))
	}
	e := &entry{open: tr}
	t.queue = append(t.queue, e)
	tr.slots = append(tr.slots, slot{e, bytes.Clone(p)})
	if !ok {
		tr.damaged = true
	}
	tr.pes = append(tr.pes, payload...)
	if len(tr.pes) > maxPES {
		tr.damaged = true
		return t.endPES(tr, false)
	}
	return nil
}

// pass writes p, or queues a copy behind an open PES packet.
func (t *TSWriter) pass(p []byte) error {
	if len(t.queue) > 0 {
		t.queue = append(t.queue, &entry{pkts: [][]byte{bytes.Clone(p)}})
		return nil
	}
	_, err := t.w.Write(p)
	return err
}

// release writes the queue's entries up to the first still open.
func (t *TSWriter) release() error {
	i := 0
	for ; i < len(t.queue) && t.queue[i].open == nil; i++ {
		for _, p := range t.queue[i].pkts {
			if _, err := t.w.Write(p); err != nil {
				return err
			}
		}
	}
	t.queue = append(t.queue[:0], t.queue[i:]...)
	return nil
}

// endPES finishes the PES packet of tr being collected (if any): its
// elementary stream goes through the coder, and the new PES packet takes
// the old one's TS packets, and more after them if it is longer. A
// damaged or malformed PES packet is dropped. last ends the stream.
func (t *TSWriter) endPES(tr *track, last bool) error {
	tr.out = tr.out[:0]
	if tr.open {
		t.st.PES++
		hdr, es, ok := splitPES(tr.pes)
		if ok && !tr.damaged {
			tr.streamID = hdr[3]
			tr.out = append(tr.out, hdr...)
			if err := eachUnit(bytes.NewReader(es), tr.c.unit); err != nil {
				return err
			}
			if err := tr.c.end(); err != nil {
				return err
			}
		} else {
			t.st.Dropped++
		}
	}
	if last && !tr.done {
		tr.done = true
		n := len(tr.out)
		if n == 0 { // a PES packet of its own for what closing writes
			tr.out = append(tr.out, 0, 0, 1, tr.streamID, 0, 0, 0x80, 0, 0)
		}
		if err := tr.c.close(); err != nil {
			return err
		}
		if n == 0 && len(tr.out) == 9 {
			tr.out = tr.out[:0]
		}
	}
	setPESLength(tr.out)
	tr.pack(t, tr.out)
	tr.open, tr.pes, tr.slots = false, tr.pes[:0], tr.slots[:0]
	return t.release()
}

// splitPES returns the header and the elementary stream bytes of a PES
// packet with the optional header (as video PES packets have).
func splitPES(b []byte) (hdr, es []byte, ok bool) {
	if len(b) < 9 || b[0] != 0 || b[1] != 0 || b[2] != 1 || b[6]&0xf0 != 0x80 { // '10', not scrambled
		return nil, nil, false
	}
	n := 9 + int(b[8])
	end := len(b)
	if l := int(b[4])<<8 | int(b[5]); l != 0 {
		end = 6 + l
	}
	if n > end || end > len(b) {
		return nil, nil, false
	}
	return b[:n], b[n:end], true
}

// setPESLength updates PES_packet_length, unless it is 0 (unbounded, as
// video PES packets may be) or the packet outgrew it.
func setPESLength(b []byte) {
	if len(b) < 6 || b[4] == 0 && b[5] == 0 {
		return
	}
	n := len(b) - 6
	if n > 0xffff {
		n = 0
	}
	b[4], b[5] = byte(n>>8), byte(n)
}

// pack cuts pes into TS packets of tr: each slot keeps its adaptation
// field (PCR, random access indicator...) and carries what fits; the rest
// goes in new packets after the last slot. A slot left without payload
// stays only if its adaptation field says something.
func (tr *track) pack(t *TSWriter, pes []byte) {
	start := true
	for _, s := range tr.slots {
		s.e.open, s.e.pkts = nil, nil
		af, _, _ := adaptationField(s.pkt)
		if len(pes) == 0 && len(af) == 0 {
			continue
		}
		var p []byte
		p, pes = tr.packet(s.pkt[1]&0x20, af, pes, start)
		start = false
		s.e.pkts = append(s.e.pkts, p)
	}
	if len(pes) == 0 {
		return
	}
	e := &entry{}
	if len(tr.slots) > 0 {
		e = tr.slots[len(tr.slots)-1].e
	} else {
		t.queue = append(t.queue, e)
	}
	for len(pes) > 0 {
		var p []byte
		p, pes = tr.packet(0, nil, pes, start)
		start = false
		e.pkts = append(e.pkts, p)
	}
}

// packet builds a packet of tr with the transport priority bit prio, the
// adaptation field content af (none if empty) and as much of data as
// fits, padded with stuffing; it returns the packet and the rest of data.
func (tr *track) packet(prio byte, af, data []byte, start bool) ([]byte, []byte) {
	p := make([]byte, 4, PacketSize)
	p[0], p[1], p[2] = tsSync, prio|byte(tr.pid>>8), byte(tr.pid)
	room := tsPayload
	if len(af) > 0 {
		room -= 1 + len(af)
	}
	n := min(room, len(data))
	if start && n > 0 {
		p[1] |= 0x40
	}
	if n > 0 {
		p[3] |= 0x10
	}
	if stuff := room - n; len(af) > 0 || stuff > 0 {
		p[3] |= 0x20
		switch {
		case len(af) > 0:
			p = append(p, byte(len(af)+stuff))
			p = append(p, af...)
		case stuff == 1:
			p = append(p, 0)
			stuff = 0
		default:
			p = append(p, byte(stuff-1), 0)
			stuff -= 2
		}
		for range stuff {
			p = append(p, 0xff)
		}
	}
	p = append(p, data[:n]...)
	return tr.number(p), data[n:]
}

// number sets the continuity counter of a packet of tr going out: the
// counters out run on from the first one, whatever packets were added or
// dropped.
func (tr *track) number(p []byte) []byte {
	payload := p[3]&0x10 != 0
	if !tr.numbered {
		tr.outCC, tr.numbered = p[3]&0x0f, true
		if payload {
			tr.outCC--
		}
	}
	if payload {
		tr.outCC++
	}
	p[3] = p[3]&0xf0 | tr.outCC&0x0f
	return p
}

// adaptationField returns the content of p's adaptation field without
// its stuffing bytes (empty when it has none or only stuffing) and where
// the payload starts (PacketSize without payload); ok is false when the
// field's length is impossible.
func adaptationField(p []byte) (af []byte, payloadAt int, ok bool) {
	ctl := p[3] >> 4 & 3
	at := 4
	if ctl&2 != 0 {
		l := int(p[4])
		if l > tsPayload-1 || ctl == 3 && l > tsPayload-2 {
			return nil, 0, false
		}
		at = 5 + l
		af = p[5:at]
		af = af[:afContent(af)]
		if len(af) == 1 && af[0] == 0 {
			af = nil
		}
	}
	if ctl&1 == 0 {
		at = PacketSize
	}
	return af, at, true
}

// afContent is the length of an adaptation field's flags and optional
// fields, the stuffing bytes after them excluded.
func afContent(af []byte) int {
	if len(af) == 0 {
		return 0
	}
	f, n := af[0], 1
	if f&0x10 != 0 { // PCR
		n += 6
	}
	if f&0x08 != 0 { // OPCR
		n += 6
	}
	if f&0x04 != 0 { // splice_countdown
		n++
	}
	for _, bit := range []byte{0x02, 0x01} { // private data, extension
		if f&bit != 0 && n < len(af) {
			n += 1 + int(af[n])
		}
	}
	return min(n, len(af))
}

// section assembles the PSI sections of a PAT or PMT PID.
func (t *TSWriter) section(pid uint16, pusi bool, payload []byte) {
	if pusi {
		if len(payload) == 0 || int(payload[0]) >= len(payload) {
			delete(t.psi, pid)
			return
		}
		ptr := int(payload[0])
		if b, ok := t.psi[pid]; ok { // the end of the previous section
			t.sections(pid, append(b, payload[1:1+ptr]...))
		}
		t.psi[pid] = nil
		payload = payload[1+ptr:]
	}
	b, ok := t.psi[pid]
	if !ok {
		return
	}
	t.sections(pid, append(b, payload...))
}

// sections parses the complete sections at the start of b and keeps the
// incomplete rest.
func (t *TSWriter) sections(pid uint16, b []byte) {
	for len(b) >= 3 && b[0] != 0xff {
		n := 3 + (int(b[1]&0x0f)<<8 | int(b[2]))
		if len(b) < n {
			t.psi[pid] = b
			return
		}
		t.table(pid, b[:n])
		b = b[n:]
	}
	if len(b) > 0 && b[0] != 0xff {
		t.psi[pid] = b
		return
	}
	delete(t.psi, pid)
}

// table reads a PAT (the PMT PIDs) or a PMT (the video PIDs).
func (t *TSWriter) table(pid uint16, sec []byte) {
	if len(sec) < 12 || sec[5]&1 == 0 || crc32MPEG(sec) != 0 { // current, CRC_32
		return
	}
	body := sec[8 : len(sec)-4]
	switch {
	case pid == pidPAT && sec[0] == 0x00:
		for ; len(body) >= 4; body = body[4:] {
			if body[0] != 0 || body[1] != 0 { // not the network PID
				t.pmt[uint16(body[2]&0x1f)<<8|uint16(body[3])] = true
			}
		}
	case t.pmt[pid] && sec[0] == 0x02:
		if len(body) < 4 {
			return
		}
		info := int(body[2]&0x0f)<<8 | int(body[3])
		if 4+info > len(body) {
			return
		}
		for body = body[4+info:]; len(body) >= 5; {
			es := uint16(body[1]&0x1f)<<8 | uint16(body[2])
			if codec, ok := videoCodec(body[0]); ok && t.tracks[es] == nil && es != pidPAT && es != pidNull && !t.pmt[es] {
				tr := &track{pid: es, cc: -1, streamID: 0xe0}
				tr.c = t.coder(codec, func(prefix, body []byte) error {
					tr.out = append(append(tr.out, prefix...), body...)
					return nil
				})
				t.tracks[es] = tr
			}
			n := 5 + (int(body[3]&0x0f)<<8 | int(body[4]))
			if n > len(body) {
				return
			}
			body = body[n:]
		}
	}
}

// crc32MPEG is the CRC-32/MPEG-2 of PSI sections; over a whole section,
// its CRC_32 field included, it is 0.
func crc32MPEG(b []byte) uint32 {
	crc := uint32(0xffffffff)
	for _, c := range b {
		crc ^= uint32(c) << 24
		for range 8 {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04c11db7
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
