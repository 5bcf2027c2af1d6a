// Package mask de-identifies values without keys, with the techniques of
// GB/T 37964-2019 (个人信息去标识化指南): partial masking that keeps a few
// characters at each end (138****5678), and generalisation that keeps a
// coarser value (a year for a date, a ten-year band for an age).
// Pseudonyms need a key and live in package fieldcrypt.
package mask

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Char replaces every masked character.
const Char = '*'

// ErrInput is returned for input that is not of the kind asked for; its
// message never quotes the input.
var ErrInput = errors.New("mask: the input is not of this kind")

// Pattern keeps the first Keep and the last Tail characters and masks the
// rest, written "Keep*Tail" ("3*4"). A value of at most Keep+Tail
// characters would show whole, so of it at most half is shown.
type Pattern struct{ Keep, Tail int }

// maxKeep bounds a pattern's numbers.
const maxKeep = 64

// ParsePattern reads "K*L".
func ParsePattern(s string) (Pattern, error) {
	k, l, ok := strings.Cut(s, "*")
	keep, err1 := strconv.Atoi(k)
	tail, err2 := strconv.Atoi(l)
	if !ok || err1 != nil || err2 != nil || keep < 0 || tail < 0 || keep > maxKeep || tail > maxKeep {
		return Pattern{}, fmt.Errorf("mask: pattern %q is not K*L with 0 <= K, L <= %d", s, maxKeep)
	}
	return Pattern{Keep: keep, Tail: tail}, nil
}

// String is the pattern as "K*L".
func (p Pattern) String() string { return strconv.Itoa(p.Keep) + "*" + strconv.Itoa(p.Tail) }

// Shown returns how many leading and trailing characters of an n-character
// value the pattern shows.
func (p Pattern) Shown(n int) (keep, tail int) {
	if n > p.Keep+p.Tail {
		return p.Keep, p.Tail
	}
	keep = min(p.Keep, n/2)
	return keep, min(p.Tail, n/2-keep)
}

// Apply masks s character by character (UTF-8 runes; invalid bytes count
// as one character each and are masked).
func (p Pattern) Apply(s string) string {
	n := utf8.RuneCountInString(s)
	keep, tail := p.Shown(n)
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for _, r := range s {
		if i < keep || i >= n-tail {
			b.WriteRune(r)
		} else {
			b.WriteRune(Char)
		}
		i++
	}
	return b.String()
}

// Kind names a kind of value with its own masking rule.
type Kind string

// The kinds of Apply.
const (
	Phone    Kind = "phone"     // 7 to 15 digits, shown 3*4: 138****5678
	IDCard   Kind = "id-card"   // GB 11643 resident ID: 17 digits and a digit or X, shown 3*4
	BankCard Kind = "bank-card" // 12 to 19 digits, shown 6*4 (the issuer number and the last four)
	Name     Kind = "name"      // a person's name, shown 1*0: 张**
	Address  Kind = "address"   // shown 6*0: the province and city
)

// Rules are the pattern of each kind.
var Rules = map[Kind]Pattern{
	Phone:    {3, 4},
	IDCard:   {3, 4},
	BankCard: {6, 4},
	Name:     {1, 0},
	Address:  {6, 0},
}

// maxInput bounds the values Apply takes.
const maxInput = 1024

// Apply checks that s is of kind k and masks it by the kind's rule.
func Apply(k Kind, s string) (string, error) {
	p, ok := Rules[k]
	if !ok {
		return "", fmt.Errorf("mask: unknown kind %q (phone, id-card, bank-card, name, address)", k)
	}
	if err := check(k, s); err != nil {
		return "", err
	}
	return p.Apply(s), nil
}

func check(k Kind, s string) error {
	if s == "" || len(s) > maxInput || !utf8.ValidString(s) {
		return ErrInput
	}
	switch k {
	case Phone:
		return digits(s, 7, 15)
	case BankCard:
		return digits(s, 12, 19)
	case IDCard:
		if len(s) != 18 {
			return ErrInput
		}
		if err := digits(s[:17], 17, 17); err != nil {
			return err
		}
		if c := s[17]; (c < '0' || c > '9') && c != 'X' && c != 'x' {
			return ErrInput
		}
	}
	return nil
}

func digits(s string, lo, hi int) error {
	if len(s) < lo || len(s) > hi {
		return ErrInput
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return ErrInput
		}
	}
	return nil
}

// GeneralizeDate keeps the year of an ISO 8601 date ("1990-05-17" →
// "1990").
func GeneralizeDate(s string) (string, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return "", ErrInput
	}
	return strconv.Itoa(d.Year()), nil
}

// GeneralizeNumber puts a non-negative integer in its band of the given
// width ("37", 10 → "30-39").
func GeneralizeNumber(s string, width int) (string, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || width < 1 {
		return "", ErrInput
	}
	lo := n / width * width
	return strconv.Itoa(lo) + "-" + strconv.Itoa(lo+width-1), nil
}
