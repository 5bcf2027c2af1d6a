package ff1

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Digits is the alphabet of decimal digit strings.
const Digits = "0123456789"

// ErrNotInAlphabet is returned for input with a character outside the
// alphabet.
var ErrNotInAlphabet = errors.New("ff1: the input has a character outside the alphabet")

// Alphabet maps the characters of a string to numerals: its i-th
// character is the numeral i, so the radix is its length.
type Alphabet struct {
	chars []rune
	index map[rune]uint16
	ascii [128]int32 // numeral+1 of ASCII characters, 0 for none
}

// NewAlphabet returns the alphabet of the distinct characters of s, in
// order (at least 2, at most MaxRadix).
func NewAlphabet(s string) (*Alphabet, error) {
	if !utf8.ValidString(s) {
		return nil, errors.New("ff1: the alphabet is not UTF-8")
	}
	a := &Alphabet{index: map[rune]uint16{}}
	for _, r := range s {
		if _, dup := a.index[r]; dup {
			return nil, fmt.Errorf("ff1: the alphabet repeats %q", r)
		}
		if len(a.chars) == MaxRadix {
			return nil, fmt.Errorf("ff1: the alphabet has more than %d characters", MaxRadix)
		}
		a.index[r] = uint16(len(a.chars))
		if r < 128 {
			a.ascii[r] = int32(len(a.chars)) + 1
		}
		a.chars = append(a.chars, r)
	}
	if len(a.chars) < MinRadix {
		return nil, errors.New("ff1: the alphabet needs at least 2 characters")
	}
	return a, nil
}

// Radix is the number of characters.
func (a *Alphabet) Radix() int { return len(a.chars) }

// Numerals returns the numerals of s.
func (a *Alphabet) Numerals(s string) ([]uint16, error) {
	out := make([]uint16, 0, len(s))
	for _, r := range s {
		if r < 128 && a.ascii[r] > 0 {
			out = append(out, uint16(a.ascii[r]-1))
			continue
		}
		n, ok := a.index[r]
		if !ok {
			return nil, ErrNotInAlphabet
		}
		out = append(out, n)
	}
	return out, nil
}

// String returns the characters of the numerals x.
func (a *Alphabet) String(x []uint16) string {
	var b strings.Builder
	b.Grow(len(x))
	for _, n := range x {
		b.WriteRune(a.chars[n])
	}
	return b.String()
}

// EncryptString encrypts s, a string over the alphabet of c, under tweak.
func EncryptString(c *Cipher, a *Alphabet, tweak []byte, s string) (string, error) {
	return runString(c.Encrypt, a, tweak, s)
}

// DecryptString decrypts s, a string over the alphabet of c, under tweak.
func DecryptString(c *Cipher, a *Alphabet, tweak []byte, s string) (string, error) {
	return runString(c.Decrypt, a, tweak, s)
}

func runString(f func([]byte, []uint16) ([]uint16, error), a *Alphabet, tweak []byte, s string) (string, error) {
	x, err := a.Numerals(s)
	if err != nil {
		return "", err
	}
	y, err := f(tweak, x)
	if err != nil {
		return "", err
	}
	return a.String(y), nil
}
