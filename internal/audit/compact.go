package audit

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"
)

// FormCompact is the Form of a record stored in the compact binary form
// (see the package doc); Form 0 is a record stored as JSON.
const FormCompact = 2

// Bytes of the compact form.
const (
	compactTag  = 0x02 // first byte of a compact body, and of its line
	escByte     = 0x1b // escapes '\n' and itself in a stored line
	escNewline  = 'n'
	escEscape   = 'e'
	macRedacted = 0x00
	macSM3      = 0x01
	hashSize    = sm3.Size
)

// isCompact reports whether a stored line holds a compact record.
func isCompact(line []byte) bool { return len(line) > 0 && line[0] == compactTag }

// compactable reports whether r can be stored in the compact form: a
// request record whose time is a record time and whose HMAC values are
// digests or Redacted.
func compactable(r *Record) bool {
	if r.Kind != KindRequest {
		return false
	}
	if _, err := recordTime(r.Time); err != nil {
		return false
	}
	for _, v := range r.HMAC {
		if v != Redacted && !isHash(v) {
			return false
		}
	}
	return isHash(r.Prev)
}

// recordTime parses a record's time, which must be in canonical form.
func recordTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || formatTime(t) != s {
		return time.Time{}, errors.New("time is not RFC 3339 UTC")
	}
	return t, nil
}

// appendCompactBody appends to dst the compact body of r, the bytes whose
// SM3 digest is its hash; r must be compactable.
func appendCompactBody(dst []byte, r *Record) []byte {
	t, _ := recordTime(r.Time)
	b := append(dst, compactTag)
	b = binary.AppendUvarint(b, r.Seq)
	b = appendHex(b, r.Prev)
	b = binary.AppendVarint(b, t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	for _, s := range []string{r.RequestID, r.Tenant, r.Accessor, r.Operation, r.Object} {
		b = appendStr(b, s)
	}
	b = binary.AppendVarint(b, int64(r.Status))
	b = appendStr(appendStr(b, r.Code), r.Remote)
	b = binary.AppendUvarint(b, r.Count)
	b = binary.AppendUvarint(b, uint64(len(r.HMAC)))
	var few [4]string
	names := few[:0]
	for name := range r.HMAC {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		b = appendStr(b, name)
		if v := r.HMAC[name]; v == Redacted {
			b = append(b, macRedacted)
		} else {
			b = appendHex(append(b, macSM3), v)
		}
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// appendHex appends the bytes of a lowercase hex digest.
func appendHex(b []byte, s string) []byte {
	n := len(b)
	b = append(b, make([]byte, hex.DecodedLen(len(s)))...)
	hex.Decode(b[n:], []byte(s)) // checked by compactable
	return b
}

// linkCompact sets the hash of r, which is compactable, and returns its
// stored line.
func linkCompact(r *Record) []byte {
	var buf [512]byte
	body := appendCompactBody(buf[:0], r)
	sum := sm3.Sum(body)
	r.Form, r.Hash = FormCompact, hex.EncodeToString(sum[:])
	return escapeLine(append(body, sum[:]...))
}

// escapeLine returns the stored line of a compact body and hash.
func escapeLine(raw []byte) []byte {
	line := make([]byte, 0, len(raw)+8)
	for _, c := range raw {
		switch c {
		case '\n':
			line = append(line, escByte, escNewline)
		case escByte:
			line = append(line, escByte, escEscape)
		default:
			line = append(line, c)
		}
	}
	return line
}

// splitCompact undoes the escaping of a compact line, in buf when it has
// escapes, and returns its body and hash.
func splitCompact(line []byte, buf *[]byte) (body, hash []byte, err error) {
	raw := line
	if i := bytes.IndexByte(line, escByte); i >= 0 {
		raw = append((*buf)[:0], line[:i]...)
		for ; i < len(line); i++ {
			c := line[i]
			if c == escByte {
				if i++; i == len(line) {
					return nil, nil, errors.New("escape at the end of the line")
				}
				switch line[i] {
				case escNewline:
					c = '\n'
				case escEscape:
					c = escByte
				default:
					return nil, nil, errors.New("unknown escape")
				}
			}
			raw = append(raw, c)
		}
		*buf = raw
	}
	if len(raw) < 1+hashSize {
		return nil, nil, errors.New("line too short")
	}
	n := len(raw) - hashSize
	return raw[:n], raw[n:], nil
}

// compactFields are the fields of a compact body, as slices of it.
type compactFields struct {
	seq    uint64
	prev   []byte
	sec    int64
	nsec   uint64
	strs   [7][]byte // request_id, tenant, accessor, operation, object, code, remote
	status int64
	count  uint64
	nmacs  uint64
	macs   []byte // the HMAC entries, as stored
}

// Indexes into compactFields.strs.
const (
	fRequestID = iota
	fTenant
	fAccessor
	fOperation
	fObject
	fCode
	fRemote
)

// compactReader reads the fields of a compact body; the first bad field
// sets err and empties what is left.
type compactReader struct {
	b   []byte
	err error
}

func (r *compactReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("bad %s", what)
	}
	r.b = nil
}

// uvarint reads a minimally encoded unsigned varint.
func (r *compactReader) uvarint(what string) uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || (n > 1 && r.b[n-1] == 0) {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// varint reads a minimally encoded zig-zag signed varint.
func (r *compactReader) varint(what string) int64 {
	u := r.uvarint(what)
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (r *compactReader) take(n uint64, what string) []byte {
	if n > uint64(len(r.b)) {
		r.fail(what)
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

// str reads a length-prefixed UTF-8 string.
func (r *compactReader) str(what string) []byte {
	s := r.take(r.uvarint(what), what)
	if !utf8.Valid(s) {
		r.fail(what)
	}
	return s
}

// readCompact checks the form of a compact body and returns its fields.
func readCompact(body []byte) (compactFields, error) {
	var f compactFields
	r := compactReader{b: body}
	if len(body) == 0 || body[0] != compactTag {
		return f, errors.New("not a compact record")
	}
	r.b = body[1:]
	if f.seq = r.uvarint("seq"); f.seq == 0 && r.err == nil {
		r.fail("seq")
	}
	f.prev = r.take(hashSize, "prev")
	f.sec, f.nsec = r.varint("time"), r.uvarint("time")
	if y := time.Unix(f.sec, 0).UTC().Year(); f.nsec >= 1e9 || y < 1 || y > 9999 {
		r.fail("time")
	}
	for i := range fCode {
		f.strs[i] = r.str("string")
	}
	f.status = r.varint("status")
	f.strs[fCode], f.strs[fRemote] = r.str("code"), r.str("remote")
	f.count = r.uvarint("count")
	f.nmacs = r.uvarint("hmac count")
	start := r.b
	var last []byte
	for i := uint64(0); i < f.nmacs && r.err == nil; i++ {
		name := r.str("hmac name")
		if i > 0 && bytes.Compare(last, name) >= 0 {
			r.fail("hmac order")
		}
		last = name
		if tag := r.take(1, "hmac"); tag != nil {
			switch tag[0] {
			case macRedacted:
			case macSM3:
				r.take(hashSize, "hmac")
			default:
				r.fail("hmac")
			}
		}
	}
	if r.err == nil && len(r.b) > 0 {
		r.fail("length")
	}
	if r.err != nil {
		return f, r.err
	}
	f.macs = start
	return f, nil
}

// record turns the fields of a compact line into its Record.
func (f *compactFields) record(hash []byte) *Record {
	r := &Record{
		Seq:       f.seq,
		Time:      formatTime(time.Unix(f.sec, int64(f.nsec))),
		Kind:      KindRequest,
		RequestID: string(f.strs[fRequestID]),
		Tenant:    string(f.strs[fTenant]),
		Accessor:  string(f.strs[fAccessor]),
		Operation: string(f.strs[fOperation]),
		Object:    string(f.strs[fObject]),
		Status:    int(f.status),
		Code:      string(f.strs[fCode]),
		Remote:    string(f.strs[fRemote]),
		Count:     f.count,
		Prev:      hex.EncodeToString(f.prev),
		Hash:      hex.EncodeToString(hash),
		Form:      FormCompact,
	}
	if f.nmacs > 0 {
		r.HMAC = make(map[string]string, f.nmacs)
		m := compactReader{b: f.macs}
		for range f.nmacs {
			name := string(m.str(""))
			if m.take(1, "")[0] == macRedacted {
				r.HMAC[name] = Redacted
			} else {
				r.HMAC[name] = hex.EncodeToString(m.take(hashSize, ""))
			}
		}
	}
	return r
}

// parseCompact decodes a compact line and checks its form, not its hash.
func parseCompact(line []byte) (*Record, error) {
	var buf []byte
	body, hash, err := splitCompact(line, &buf)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnparseable, err)
	}
	f, err := readCompact(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return f.record(hash), nil
}

// decodeLine decodes a stored line without checking its form as
// ParseRecord does: what search and its index need.
func decodeLine(line []byte) (*Record, error) {
	if isCompact(line) {
		return parseCompact(line)
	}
	r := new(Record)
	if err := json.Unmarshal(line, r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnparseable, err)
	}
	return r, nil
}

// JSONLine returns a stored line as JSON: the line itself when it is
// stored as JSON, else its record's JSON form (with "form":2), from which
// Verify recomputes the same hash.
func JSONLine(line []byte) ([]byte, error) {
	if !isCompact(line) {
		return line, nil
	}
	r, err := parseCompact(line)
	if err != nil {
		return nil, err
	}
	return json.Marshal(r)
}
