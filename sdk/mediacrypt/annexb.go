package mediacrypt

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// nal is one NAL unit of an Annex-B byte stream: the start code with the
// zero bytes before it (kept so that a stream round-trips byte for byte)
// and the NAL unit itself.
type nal struct {
	prefix, body []byte
}

var startCode = []byte{0, 0, 1}

// maxNAL bounds a NAL unit held in memory.
const maxNAL = 64 << 20

// errTooLarge: no start code within maxNAL bytes.
var errTooLarge = errors.New("mediacrypt: a NAL unit is larger than 64 MiB, or the input is not an Annex-B stream")

// splitter reads the NAL units of an Annex-B stream.
type splitter struct {
	r   *bufio.Reader
	buf []byte // unread stream bytes, from a start code on once found
	eof bool
}

func newSplitter(r io.Reader) *splitter { return &splitter{r: bufio.NewReaderSize(r, 1<<16)} }

// fill reads more of the stream into buf.
func (s *splitter) fill() error {
	if s.eof {
		return io.EOF
	}
	var chunk [1 << 16]byte
	n, err := s.r.Read(chunk[:])
	s.buf = append(s.buf, chunk[:n]...)
	if errors.Is(err, io.EOF) {
		s.eof = true
		return nil
	}
	return err
}

// next returns the next NAL unit, or io.EOF. Bytes before the first start
// code are returned as a NAL unit with an empty prefix.
func (s *splitter) next() (nal, error) {
	// The start code of this unit.
	for len(s.buf) == 0 {
		if err := s.fill(); err != nil {
			return nal{}, err
		}
	}
	from := 0
	for {
		i := bytes.Index(s.buf[from:], startCode)
		if i >= 0 {
			p := from + i + len(startCode)
			// The next start code, past this one.
			for {
				j := bytes.Index(s.buf[p:], startCode)
				if j >= 0 {
					end := p + j
					for end > p && s.buf[end-1] == 0 {
						end--
					}
					return s.take(p, end), nil
				}
				if s.eof {
					return s.take(p, len(s.buf)), nil
				}
				if len(s.buf) > maxNAL {
					return nal{}, errTooLarge
				}
				if err := s.fill(); err != nil {
					return nal{}, err
				}
			}
		}
		if s.eof {
			u := nal{body: s.buf}
			s.buf = nil
			return u, nil
		}
		from = max(0, len(s.buf)-len(startCode)+1)
		if err := s.fill(); err != nil {
			return nal{}, err
		}
	}
}

// take returns the unit whose start code (with the bytes before it) is
// buf[:body] and whose body ends at end, and drops it from buf.
func (s *splitter) take(body, end int) nal {
	u := nal{prefix: bytes.Clone(s.buf[:body]), body: bytes.Clone(s.buf[body:end])}
	s.buf = append(s.buf[:0], s.buf[end:]...)
	return u
}

// unescape removes the emulation prevention bytes of a NAL unit's
// payload, giving its RBSP (H.264 and H.265 section 7.4.1/7.4.2).
func unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// escape appends rbsp to dst with emulation prevention bytes, so that no
// start code appears inside a NAL unit.
func escape(dst, rbsp []byte) []byte {
	zeros := 0
	for _, c := range rbsp {
		if zeros >= 2 && c <= 3 {
			dst = append(dst, 3)
			zeros = 0
		}
		dst = append(dst, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return dst
}
