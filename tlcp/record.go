package tlcp

import (
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm4"
)

var errBadRecordMAC = fmt.Errorf("tlcp: record failed authentication: %w", alertBadRecordMAC)

// halfConn is the record protection state of one direction
// (GB/T 38636-2020 6.3): the current protection, the pending one installed
// by ChangeCipherSpec, and the 64-bit sequence number.
type halfConn struct {
	prot    *recordProtection
	pending *recordProtection
	seq     [8]byte
}

// setPending installs the protection that the next ChangeCipherSpec
// activates.
func (hc *halfConn) setPending(p *recordProtection) { hc.pending = p }

// changeCipherSpec activates the pending protection and resets the sequence
// number (GB/T 38636-2020 6.4.2).
func (hc *halfConn) changeCipherSpec() error {
	if hc.pending == nil {
		return fmt.Errorf("tlcp: ChangeCipherSpec before key exchange: %w", alertUnexpectedMessage)
	}
	hc.prot, hc.pending = hc.pending, nil
	hc.seq = [8]byte{}
	return nil
}

func (hc *halfConn) incSeq() {
	for i := 7; i >= 0; i-- {
		hc.seq[i]++
		if hc.seq[i] != 0 {
			return
		}
	}
	// Sequence numbers must not wrap (GB/T 38636-2020 6.3) and this package
	// does not renegotiate; 2^64 records cannot be reached in practice.
	panic("tlcp: sequence number wraparound")
}

// macHeader writes seq_num || type || version || length for the MAC or the
// AEAD additional data.
func (hc *halfConn) macHeader(typ recordType, n int) []byte {
	var b [13]byte
	copy(b[:8], hc.seq[:])
	b[8] = byte(typ)
	b[9], b[10] = versionHi, versionLo
	b[11], b[12] = byte(n>>8), byte(n)
	return b[:]
}

// seal appends the protected form of payload, with its record header, to
// out. rand provides CBC IVs; GCM nonces are the sequence number.
func (hc *halfConn) seal(out []byte, typ recordType, payload []byte, rand io.Reader) ([]byte, error) {
	hdr := len(out)
	out = append(out, byte(typ), versionHi, versionLo, 0, 0)
	p := hc.prot
	switch {
	case p == nil:
		out = append(out, payload...)
	case p.aead != nil:
		// GenericAEADCipher: nonce_explicit || aead_output; the nonce is
		// client/server_write_IV || nonce_explicit and nonce_explicit is
		// the sequence number, which never repeats under one key.
		var nonce [12]byte
		copy(nonce[:gcmFixedIVLen], p.fixed)
		copy(nonce[gcmFixedIVLen:], hc.seq[:])
		out = append(out, hc.seq[:]...)
		out = p.aead.Seal(out, nonce[:], payload, hc.macHeader(typ, len(payload)))
	default:
		// GenericBlockCipher: IV || CBC(content || MAC || padding).
		ivStart := len(out)
		out = append(out, make([]byte, sm4.BlockSize)...)
		if _, err := io.ReadFull(rand, out[ivStart:]); err != nil {
			return nil, fmt.Errorf("tlcp: reading record IV: %w", err)
		}
		body := len(out)
		out = append(out, payload...)
		p.mac.Reset()
		p.mac.Write(hc.macHeader(typ, len(payload)))
		p.mac.Write(payload)
		out = p.mac.Sum(out)
		padLen := sm4.BlockSize - (len(out)-body)%sm4.BlockSize
		for range padLen {
			out = append(out, byte(padLen-1))
		}
		cipher.NewCBCEncrypter(p.block, out[ivStart:body]).CryptBlocks(out[body:], out[body:])
	}
	n := len(out) - hdr - recordHeaderLen
	out[hdr+3], out[hdr+4] = byte(n>>8), byte(n)
	hc.incSeq()
	return out, nil
}

// open authenticates and decrypts the fragment of a record whose header is
// hdr, in place, and returns the plaintext. Failures are reported as
// bad_record_mac whatever their cause, so that padding and MAC errors cannot
// be told apart.
func (hc *halfConn) open(hdr, fragment []byte) ([]byte, error) {
	typ := recordType(hdr[0])
	p := hc.prot
	var plain []byte
	switch {
	case p == nil:
		plain = fragment
	case p.aead != nil:
		if len(fragment) < gcmExplicitLen+gcmTagLen {
			return nil, errBadRecordMAC
		}
		var nonce [12]byte
		copy(nonce[:gcmFixedIVLen], p.fixed)
		copy(nonce[gcmFixedIVLen:], fragment[:gcmExplicitLen])
		ct := fragment[gcmExplicitLen:]
		var err error
		plain, err = p.aead.Open(ct[:0], nonce[:], ct, hc.macHeader(typ, len(ct)-gcmTagLen))
		if err != nil {
			return nil, errBadRecordMAC
		}
	default:
		var err error
		if plain, err = hc.openCBC(p, typ, fragment); err != nil {
			return nil, err
		}
	}
	hc.incSeq()
	if len(plain) > maxPlaintext {
		return nil, fmt.Errorf("tlcp: record plaintext of %d bytes: %w", len(plain), alertRecordOverflow)
	}
	return plain, nil
}

// openCBC decrypts GenericBlockCipher and checks padding and MAC without
// branching on the padding contents.
func (hc *halfConn) openCBC(p *recordProtection, typ recordType, fragment []byte) ([]byte, error) {
	macLen := p.mac.Size()
	if len(fragment)%sm4.BlockSize != 0 || len(fragment) < sm4.BlockSize+roundUp(macLen+1, sm4.BlockSize) {
		return nil, errBadRecordMAC
	}
	iv, body := fragment[:sm4.BlockSize], fragment[sm4.BlockSize:]
	cipher.NewCBCDecrypter(p.block, iv).CryptBlocks(body, body)

	padRemove, good := extractPadding(body)
	n := len(body) - padRemove - macLen
	n = subtle.ConstantTimeSelect(int(uint32(n)>>31), 0, n) // max(n, 0)
	content, remoteMAC := body[:n], body[n:n+macLen]
	p.mac.Reset()
	p.mac.Write(hc.macHeader(typ, n))
	p.mac.Write(content)
	localMAC := p.mac.Sum(nil)
	if subtle.ConstantTimeCompare(localMAC, remoteMAC)&int(good) != 1 {
		return nil, errBadRecordMAC
	}
	return content, nil
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// extractPadding returns, in constant time, the number of bytes of padding
// and its length byte at the end of payload, and good = 1 when the padding
// is well formed. On bad padding toRemove is 1, so the MAC check still runs
// over almost all of the record.
func extractPadding(payload []byte) (toRemove int, good byte) {
	paddingLen := payload[len(payload)-1]
	t := uint(len(payload)-1) - uint(paddingLen)
	// t's top bit is clear iff len(payload)-1 >= paddingLen.
	good = byte(int32(^t) >> 31)
	toCheck := min(256, len(payload))
	for i := range toCheck {
		t := uint(paddingLen) - uint(i)
		mask := byte(int32(^t) >> 31) // 0xff iff i <= paddingLen
		good &^= mask&paddingLen ^ mask&payload[len(payload)-1-i]
	}
	good &= good << 4
	good &= good << 2
	good &= good << 1
	good = uint8(int8(good) >> 7)
	paddingLen &= good
	return int(paddingLen) + 1, good & 1
}
