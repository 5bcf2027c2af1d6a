package sdk

import (
	"bufio"
	"bytes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm4"
)

// The envelope format of EncryptEnvelope, for data of any size:
//
//	mima-envelope-v1 LF
//	the data key wrapped under a mima key ("mima:v<N>:<base64>") LF
//	segments
//
// The data key is a fresh SM4 key from the datakey endpoint, used for this
// envelope only. The plaintext is cut into segments of 64 KiB (the last
// may be shorter, or empty); segment i is SM4-GCM sealed with the nonce
// i (11 bytes, big-endian) || 1 for the last segment and 0 for the others,
// and the two header lines as additional data: segments cannot be
// reordered, dropped, cut off at the end or moved to another envelope
// (the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár).
const (
	envelopeMagic   = "mima-envelope-v1"
	envelopeSegment = 64 << 10
	maxWrappedLine  = 4 << 10
)

// errEnvelope is the error of an envelope that does not authenticate.
var errEnvelope = errors.New("sdk: the envelope is damaged, cut short or not made under this key")

// readLine reads a line of at most max bytes, its LF included.
func readLine(r *bufio.Reader, max int) (string, error) {
	var b bytes.Buffer
	for b.Len() <= max {
		c, err := r.ReadByte()
		if err != nil {
			return "", err
		}
		b.WriteByte(c)
		if c == '\n' {
			return b.String(), nil
		}
	}
	return "", fmt.Errorf("longer than %d bytes", max)
}

// segmenter seals and opens the segments of one envelope in order.
type segmenter struct {
	gcm    cipher.AEAD
	header []byte
	next   uint64
}

func newSegmenter(key, header []byte) (*segmenter, error) {
	block, err := sm4.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sdk: data key: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &segmenter{gcm: gcm, header: header}, nil
}

// nonce is the next segment's nonce: its index, then 1 for the last.
func (s *segmenter) nonce(last bool) []byte {
	n := make([]byte, 12)
	binary.BigEndian.PutUint64(n[3:11], s.next)
	if last {
		n[11] = 1
	}
	s.next++
	return n
}

func (s *segmenter) seal(pt []byte, last bool) []byte {
	return s.gcm.Seal(nil, s.nonce(last), pt, s.header)
}

func (s *segmenter) open(ct []byte, last bool) ([]byte, error) {
	pt, err := s.gcm.Open(nil, s.nonce(last), ct, s.header)
	if err != nil {
		return nil, errEnvelope
	}
	return pt, nil
}
