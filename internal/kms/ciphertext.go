package kms

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
)

// ciphertextPrefix starts every ciphertext string; the package
// documentation describes the format.
const ciphertextPrefix = "mima:v"

// maxVersionDigits bounds the version field; versions fit in an int32.
const maxVersionDigits = 10

// b64chunk is how many payload bytes formatCiphertext encodes at a time
// (a multiple of 3, so that only the last chunk is padded).
const b64chunk = 768

// formatCiphertext returns the ciphertext string of a payload under a key
// version, building it in one allocation.
func formatCiphertext(version int, payload []byte) string {
	enc := base64.StdEncoding
	var b strings.Builder
	b.Grow(len(ciphertextPrefix) + maxVersionDigits + 1 + enc.EncodedLen(len(payload)))
	b.WriteString(ciphertextPrefix)
	var num [maxVersionDigits + 10]byte
	b.Write(strconv.AppendInt(num[:0], int64(version), 10))
	b.WriteByte(':')
	var chunk [b64chunk / 3 * 4]byte
	for len(payload) > 0 {
		n := min(len(payload), b64chunk)
		enc.Encode(chunk[:], payload[:n])
		b.Write(chunk[:enc.EncodedLen(n)])
		payload = payload[n:]
	}
	return b.String()
}

// parseCiphertext returns the version and payload of a ciphertext string
// and whether it is well formed. It accepts exactly what formatCiphertext
// produces: no whitespace, no line breaks, canonical base64, a non-empty
// payload.
func parseCiphertext(s string) (int, []byte, bool) {
	rest, ok := strings.CutPrefix(s, ciphertextPrefix)
	if !ok {
		return 0, nil, false
	}
	digits, enc, ok := strings.Cut(rest, ":")
	if !ok || len(digits) == 0 || len(digits) > maxVersionDigits || digits[0] == '0' {
		return 0, nil, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, nil, false
		}
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || v > math.MaxInt32 {
		return 0, nil, false
	}
	if len(enc) == 0 || len(enc)%4 != 0 {
		return 0, nil, false
	}
	strict := base64.StdEncoding.Strict()
	payload := make([]byte, strict.DecodedLen(len(enc)))
	n, err := strict.Decode(payload, []byte(enc))
	// The decoder skips '\r' and '\n'; a canonical encoding has none.
	if err != nil || n == 0 || strict.EncodedLen(n) != len(enc) {
		return 0, nil, false
	}
	return int(v), payload[:n], true
}
