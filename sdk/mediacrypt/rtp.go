package mediacrypt

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
)

// RTP carriage of H.264 (RFC 6184): the NAL units of each access unit
// (the packets of one RTP timestamp) are taken from single NAL unit
// packets, STAP-A and FU-A, go through the encryptor or decryptor, and
// are sent again as single NAL unit packets, or FU-A where they do not
// fit the MTU.

const (
	rtpHeader = 12
	stapA     = 24
	fuA       = 28
	// maxAU bounds an access unit held in memory.
	maxAU = 16 << 20
	// DefaultMTU is the size of the RTP packets an RTPWriter sends at most.
	DefaultMTU = 1400
)

// ErrRTP: an RTP packet does not parse.
var ErrRTP = errors.New("mediacrypt: malformed RTP packet")

// RTPWriter takes the RTP packets of an H.264 stream (RFC 6184,
// packetization mode 0 or 1) and sends them on with their keyframes
// encrypted (NewRTPEncrypter) or decrypted (NewRTPDecrypter). An access
// unit is held until its last packet (marker bit) or the first packet of
// the next; one that lost a packet (a gap in the sequence numbers, or a
// reordering) or used an unsupported packet type is dropped and counted.
// The packets sent keep the payload type, SSRC and timestamps; they have
// their own sequence numbers (from the first one received), no CSRC list,
// header extension or padding.
type RTPWriter struct {
	send    func([]byte) error
	c       coder
	mtu     int
	st      Stats
	dk      DataKey
	started bool   // a packet was received
	lastSeq uint16 // the last sequence number received
	outSeq  uint16
	// The access unit being collected.
	open    bool
	hdr     [rtpHeader]byte // of its first packet
	units   []nal
	size    int
	fu      []byte // a FU-A unit being reassembled
	damaged bool
	out     [][]byte // the coder's units
}

// NewRTPEncrypter returns an RTPWriter that encrypts the H.264 stream as
// Encrypt would its Annex-B form, sending packets of at most mtu bytes
// (0: DefaultMTU) to send.
func NewRTPEncrypter(send func([]byte) error, mtu int, dk DataKey, rand io.Reader, opt Options) (*RTPWriter, error) {
	opt, err := checkOptions(dk, opt)
	if err != nil {
		return nil, err
	}
	r := newRTPWriter(send, mtu)
	r.dk = dk
	r.c = encryptCoder(&r.dk, rand, opt, &r.st)(H264, r.emit)
	return r, nil
}

// NewRTPDecrypter returns an RTPWriter that decrypts what an RTPWriter of
// NewRTPEncrypter sent.
func NewRTPDecrypter(ctx context.Context, send func([]byte) error, mtu int, unwrap Unwrapper) *RTPWriter {
	r := newRTPWriter(send, mtu)
	r.c = decryptCoder(ctx, unwrap, map[string][]byte{}, &r.st)(H264, r.emit)
	return r
}

func newRTPWriter(send func([]byte) error, mtu int) *RTPWriter {
	if mtu <= rtpHeader+2 {
		mtu = DefaultMTU
	}
	return &RTPWriter{send: send, mtu: mtu}
}

func (r *RTPWriter) emit(_, body []byte) error {
	r.out = append(r.out, body)
	return nil
}

// SetDataKey makes the GOPs from the next keyframe on use dk (an
// RTPWriter of NewRTPEncrypter).
func (r *RTPWriter) SetDataKey(dk DataKey) error {
	if _, err := checkOptions(dk, Options{}); err != nil {
		return err
	}
	r.dk = dk
	return nil
}

// Stats returns what the RTPWriter did so far; PES counts access units.
func (r *RTPWriter) Stats() Stats { return r.st }

// Packet takes one RTP packet. A malformed packet is ErrRTP and damages
// its access unit; other errors are the coder's or send's.
func (r *RTPWriter) Packet(p []byte) error {
	payload, ok := rtpPayload(p)
	if !ok {
		r.damaged = true
		return ErrRTP
	}
	seq, ts := binary.BigEndian.Uint16(p[2:]), binary.BigEndian.Uint32(p[4:])
	gap := r.started && seq != r.lastSeq+1
	if !r.started {
		r.outSeq = seq
	}
	r.started, r.lastSeq = true, seq
	if gap {
		r.damaged = true
	}
	if r.open && binary.BigEndian.Uint32(r.hdr[4:]) != ts {
		if err := r.endAU(); err != nil {
			return err
		}
		r.damaged = gap // the lost packets may have been this one's
	}
	if !r.open {
		r.open = true
		copy(r.hdr[:], p)
	}
	r.depacketize(payload)
	if r.size > maxAU {
		r.damaged = true
	}
	if p[1]&0x80 != 0 { // marker: the access unit's last packet
		if err := r.endAU(); err != nil {
			return err
		}
		r.damaged = false
	}
	return nil
}

// rtpPayload returns the payload of an RTP packet, without CSRCs, header
// extension and padding.
func rtpPayload(p []byte) ([]byte, bool) {
	if len(p) < rtpHeader || p[0]>>6 != 2 {
		return nil, false
	}
	at := rtpHeader + 4*int(p[0]&0x0f)
	end := len(p)
	if p[0]&0x20 != 0 { // padding
		if end == 0 || int(p[end-1]) > end {
			return nil, false
		}
		end -= int(p[end-1])
	}
	if p[0]&0x10 != 0 { // header extension
		if at+4 > end {
			return nil, false
		}
		at += 4 + 4*int(binary.BigEndian.Uint16(p[at+2:]))
	}
	if at >= end {
		return nil, false
	}
	return p[at:end], true
}

// depacketize adds the NAL units of a payload to the access unit.
func (r *RTPWriter) depacketize(b []byte) {
	switch t := b[0] & 0x1f; {
	case t >= 1 && t <= 23:
		r.unit(b)
	case t == stapA:
		for b = b[1:]; len(b) >= 2; {
			n := int(binary.BigEndian.Uint16(b))
			if n == 0 || 2+n > len(b) {
				r.damaged = true
				return
			}
			r.unit(b[2 : 2+n])
			b = b[2+n:]
		}
	case t == fuA && len(b) >= 2:
		start, end := b[1]&0x80 != 0, b[1]&0x40 != 0
		switch {
		case start:
			r.fu = append(r.fu[:0], b[0]&0xe0|b[1]&0x1f)
		case len(r.fu) == 0: // its start was lost
			r.damaged = true
			return
		}
		r.fu = append(r.fu, b[2:]...)
		r.size += len(b) - 2
		if end {
			r.unit(r.fu)
			r.fu = r.fu[:0]
		}
	default: // STAP-B, MTAP, FU-B: packetization modes mima does not take
		r.damaged = true
	}
}

func (r *RTPWriter) unit(body []byte) {
	r.units = append(r.units, nal{prefix: seiStart, body: append([]byte(nil), body...)})
	r.size += len(body)
}

// endAU runs the access unit through the coder and sends it, or drops it
// when damaged.
func (r *RTPWriter) endAU() error {
	units, damaged := r.units, r.damaged || len(r.fu) > 0
	r.open, r.units, r.size, r.fu = false, nil, 0, r.fu[:0]
	if len(units) == 0 && !damaged {
		return nil
	}
	r.st.PES++
	if damaged {
		r.st.Dropped++
		return nil
	}
	r.out = r.out[:0]
	for _, u := range units {
		if err := r.c.unit(u); err != nil {
			return err
		}
	}
	if err := r.c.end(); err != nil {
		return err
	}
	return r.sendAU()
}

// Close ends the stream: the access unit being collected is finished and
// the last GOP closed (with the integrity mode's HMAC SEI).
func (r *RTPWriter) Close() error {
	if r.open {
		if err := r.endAU(); err != nil {
			return err
		}
	}
	r.out = r.out[:0]
	if err := r.c.close(); err != nil {
		return err
	}
	return r.sendAU()
}

// sendAU sends the coder's units as one access unit: single NAL unit
// packets, FU-A for those larger than the MTU, the marker on the last.
func (r *RTPWriter) sendAU() error {
	var pkts [][]byte
	for _, u := range r.out {
		if rtpHeader+len(u) <= r.mtu {
			pkts = append(pkts, r.packet(nil, u))
			continue
		}
		ind := u[0]&0xe0 | fuA
		for rest, first := u[1:], true; len(rest) > 0; first = false {
			n := min(len(rest), r.mtu-rtpHeader-2)
			fh := u[0] & 0x1f
			if first {
				fh |= 0x80
			}
			if n == len(rest) {
				fh |= 0x40
			}
			pkts = append(pkts, r.packet([]byte{ind, fh}, rest[:n]))
			rest = rest[n:]
		}
	}
	for i, p := range pkts {
		if i == len(pkts)-1 {
			p[1] |= 0x80
		}
		if err := r.send(p); err != nil {
			return err
		}
	}
	return nil
}

// packet builds an RTP packet of the access unit: its header (version 2,
// no marker yet), a payload header (FU-A) and data.
func (r *RTPWriter) packet(head, data []byte) []byte {
	p := make([]byte, rtpHeader, rtpHeader+len(head)+len(data))
	copy(p, r.hdr[:])
	p[0], p[1] = 0x80, r.hdr[1]&0x7f
	binary.BigEndian.PutUint16(p[2:], r.outSeq)
	r.outSeq++
	return append(append(p, head...), data...)
}
