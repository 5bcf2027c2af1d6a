package dbproxy

import (
	"bytes"
	"context"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
)

// copyData relays the client's COPY FROM STDIN data, encrypting the
// protected columns line by line (text format); done is CopyDone. A line
// that cannot be encrypted fails the COPY with CopyFail, so that no
// plaintext of a protected column reaches the server.
func (s *session) copyData(ctx context.Context, data []byte, done bool) error {
	if s.copy == nil {
		if done {
			s.server.Send(&pgproto3.CopyDone{})
		} else {
			s.server.Send(&pgproto3.CopyData{Data: data})
		}
		return s.server.Flush()
	}
	if s.copyBad {
		if done {
			s.copy = nil
		}
		return nil
	}
	s.copyBuf = append(s.copyBuf, data...)
	end := bytes.LastIndexByte(s.copyBuf, '\n') + 1
	if done {
		end = len(s.copyBuf)
	}
	var out []byte
	for rest := s.copyBuf[:end]; len(rest) > 0; {
		line, tail, _ := bytes.Cut(rest, []byte{'\n'})
		rest = tail
		if string(line) == `\.` {
			out = append(out, line...)
			out = append(out, '\n')
			continue
		}
		l, err := s.copyLine(ctx, s.copy.copyCols, line, func(_ context.Context, c *Column, v string) (string, error) {
			return s.enc(c, false, v)
		})
		if err != nil {
			s.server.Send(&pgproto3.CopyFail{Message: errorResponse(err).Message})
			s.copyBad, s.copyBuf = true, nil
			if done {
				s.copy = nil
			}
			return s.server.Flush()
		}
		out = append(append(out, l...), '\n')
	}
	s.copyBuf = append(s.copyBuf[:0], s.copyBuf[end:]...)
	if len(out) > 0 {
		s.server.Send(&pgproto3.CopyData{Data: out})
	}
	if done {
		s.copy = nil
		s.server.Send(&pgproto3.CopyDone{})
	}
	return s.server.Flush()
}

// copyLine applies f to the protected values of one line of COPY text
// format (without its newline).
func (s *session) copyLine(ctx context.Context, cols []*Column, line []byte, f func(context.Context, *Column, string) (string, error)) ([]byte, error) {
	trail := bytes.HasSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\n'})
	fields := strings.Split(string(line), "\t")
	for i, v := range fields {
		if i >= len(cols) || cols[i] == nil || v == `\N` {
			continue
		}
		out, err := f(ctx, cols[i], copyUnescape(v))
		if err != nil {
			return nil, err
		}
		fields[i] = copyEscape.Replace(out)
	}
	out := []byte(strings.Join(fields, "\t"))
	if trail {
		out = append(out, '\n')
	}
	return out, nil
}

var copyEscape = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)

// copyUnescape undoes the backslash escapes of COPY's text format.
func copyUnescape(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' || i+1 == len(v) {
			b.WriteByte(v[i])
			continue
		}
		i++
		switch c := v[i]; c {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case 'x':
			n, j := 0, i+1
			for ; j < len(v) && j < i+3 && isHex(v[j]); j++ {
				n = n*16 + hexVal(v[j])
			}
			if j == i+1 {
				b.WriteByte('x')
				continue
			}
			b.WriteByte(byte(n))
			i = j - 1
		case '0', '1', '2', '3', '4', '5', '6', '7':
			n, j := 0, i
			for ; j < len(v) && j < i+3 && v[j] >= '0' && v[j] <= '7'; j++ {
				n = n*8 + int(v[j]-'0')
			}
			b.WriteByte(byte(n))
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c <= '9':
		return int(c - '0')
	case c >= 'a':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}
