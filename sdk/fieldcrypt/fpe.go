package fieldcrypt

import (
	"github.com/mimacrypto/mima/sdk/fieldcrypt/ff1"
)

// fpe encrypts (or decrypts) value, a digit string of format, with FF1.
// Phone numbers keep their first three digits; ID card numbers (GB 11643)
// encrypt their 17 digits and get the check character of the result
// (ISO 7064 MOD 11-2); bank card numbers encrypt all but the last digit and
// get the Luhn digit of the result. Input whose check character is wrong
// is refused, so decryption gives back exactly what was encrypted.
func fpe(c *ff1.Cipher, format string, tweak, value []byte, encrypt bool) ([]byte, error) {
	run := c.Decrypt
	if encrypt {
		run = c.Encrypt
	}
	keep, body, check := 0, len(value), false
	switch format {
	case FormatPhone:
		keep = 3
	case FormatIDCard:
		if len(value) != 18 || idCheck(value[:17]) != upper(value[17]) {
			return nil, ErrInput
		}
		body, check = 17, true
	case FormatBankCard:
		if len(value) < 12 || len(value) > 19 || !luhnValid(value) {
			return nil, ErrInput
		}
		body, check = len(value)-1, true
	}
	if body-keep < c.MinLen() {
		return nil, ErrInput
	}
	x := make([]uint16, body-keep)
	for i := range x {
		d := value[keep+i]
		if d < '0' || d > '9' {
			return nil, ErrInput
		}
		x[i] = uint16(d - '0')
	}
	y, err := run(tweak, x)
	if err != nil {
		return nil, ErrInput
	}
	out := make([]byte, len(value))
	copy(out, value[:keep])
	for i, d := range y {
		out[keep+i] = byte('0' + d)
	}
	if check {
		if format == FormatIDCard {
			out[17] = idCheck(out[:17])
		} else {
			out[body] = luhnDigit(out[:body])
		}
	}
	return out, nil
}

func upper(c byte) byte {
	if c == 'x' {
		return 'X'
	}
	return c
}

// idCheck is the GB 11643 check character of 17 digits (ISO 7064 MOD 11-2).
func idCheck(d []byte) byte {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		if d[i] < '0' || d[i] > '9' {
			return 0
		}
		sum += int(d[i]-'0') * w
	}
	return "10X98765432"[sum%11]
}

// luhnDigit is the Luhn check digit to append to digits d.
func luhnDigit(d []byte) byte {
	sum := 0
	for i := range d {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 0 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return byte('0' + (10-sum%10)%10)
}

func luhnValid(d []byte) bool {
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return luhnDigit(d[:len(d)-1]) == d[len(d)-1]
}
