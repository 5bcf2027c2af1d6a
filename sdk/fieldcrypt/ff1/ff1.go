// Package ff1 is the FF1 format-preserving encryption mode of NIST SP
// 800-38G (Rev. 1) over any 128-bit block cipher: SM4 (GB/T 32907) in
// mima, AES in the standard's own sample vectors. FF1 encrypts a string of
// numerals in a radix to a string of the same length and radix, so a
// digit string stays a digit string.
package ff1

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
)

// Limits on the radix and on the length of a numeral string. SP 800-38G
// Rev. 1 requires radix^minlen >= 1,000,000; MaxLen bounds the work one
// call can ask for.
const (
	MinRadix  = 2
	MaxRadix  = 1 << 16
	MaxLen    = 4096
	minDomain = 1_000_000
	maxTweak  = 256
)

// ErrLength is returned for a numeral string shorter than the radix
// allows (its domain would hold fewer than a million values) or longer
// than MaxLen.
var ErrLength = errors.New("ff1: input length out of range for the radix")

// Cipher is FF1 under one key and radix. It is safe for concurrent use.
type Cipher struct {
	block  cipher.Block
	radix  int
	bigR   *big.Int
	minLen int
}

// New returns FF1 over block (a 16-byte block cipher) for numerals
// 0..radix-1.
func New(block cipher.Block, radix int) (*Cipher, error) {
	if block.BlockSize() != 16 {
		return nil, errors.New("ff1: the block cipher must have 128-bit blocks")
	}
	if radix < MinRadix || radix > MaxRadix {
		return nil, fmt.Errorf("ff1: radix %d is outside [%d, %d]", radix, MinRadix, MaxRadix)
	}
	minLen := int(math.Ceil(math.Log(minDomain) / math.Log(float64(radix))))
	minLen = max(minLen, 2)
	// Guard the floating point: radix^minLen must reach the bound.
	for pow(radix, minLen-1) >= minDomain && minLen > 2 {
		minLen--
	}
	for pow(radix, minLen) < minDomain {
		minLen++
	}
	return &Cipher{block: block, radix: radix, bigR: big.NewInt(int64(radix)), minLen: minLen}, nil
}

func pow(radix, n int) float64 { return math.Pow(float64(radix), float64(n)) }

// Radix returns the radix of the numerals.
func (c *Cipher) Radix() int { return c.radix }

// MinLen returns the shortest numeral string the cipher takes.
func (c *Cipher) MinLen() int { return c.minLen }

// Encrypt returns the encryption of the numerals x under tweak.
func (c *Cipher) Encrypt(tweak []byte, x []uint16) ([]uint16, error) {
	return c.run(tweak, x, true)
}

// Decrypt returns the decryption of the numerals y under tweak.
func (c *Cipher) Decrypt(tweak []byte, y []uint16) ([]uint16, error) {
	return c.run(tweak, y, false)
}

// run is Algorithms 7 (FF1.Encrypt) and 8 (FF1.Decrypt) of SP 800-38G.
func (c *Cipher) run(tweak []byte, x []uint16, encrypt bool) ([]uint16, error) {
	n := len(x)
	if n < c.minLen || n > MaxLen {
		return nil, ErrLength
	}
	if len(tweak) > maxTweak {
		return nil, fmt.Errorf("ff1: the tweak is longer than %d bytes", maxTweak)
	}
	for _, d := range x {
		if int(d) >= c.radix {
			return nil, fmt.Errorf("ff1: numeral %d is not below the radix %d", d, c.radix)
		}
	}
	u := n / 2
	v := n - u
	// b bytes hold any v-numeral value; d bytes of PRF output feed y.
	b := (int(math.Ceil(float64(v)*math.Log2(float64(c.radix)))) + 7) / 8
	d := 4*((b+3)/4) + 4

	var p [16]byte
	p[0], p[1], p[2] = 1, 2, 1
	p[3], p[4], p[5] = byte(c.radix>>16), byte(c.radix>>8), byte(c.radix)
	p[6] = 10
	p[7] = byte(u)
	binary.BigEndian.PutUint32(p[8:], uint32(n))
	binary.BigEndian.PutUint32(p[12:], uint32(len(tweak)))

	t := len(tweak)
	pad := ((-t-b-1)%16 + 16) % 16
	q := make([]byte, t+pad+1+b)
	copy(q, tweak)

	a := c.num(x[:u])
	bb := c.num(x[u:])
	modU := new(big.Int).Exp(c.bigR, big.NewInt(int64(u)), nil)
	modV := new(big.Int).Exp(c.bigR, big.NewInt(int64(v)), nil)
	var y, cc big.Int
	s := make([]byte, (d+15)/16*16)
	for r := range 10 {
		i := r
		if !encrypt {
			i = 9 - r
		}
		// Q ends with i and NUM(B) (encryption) or NUM(A) (decryption).
		src := bb
		if !encrypt {
			src = a
		}
		q[t+pad] = byte(i)
		src.FillBytes(q[t+pad+1:])
		c.prf(s, p[:], q)
		y.SetBytes(s[:d])
		m := modU
		if i%2 == 1 {
			m = modV
		}
		if encrypt {
			cc.Add(a, &y)
			cc.Mod(&cc, m)
			a, bb = bb, new(big.Int).Set(&cc)
		} else {
			cc.Sub(bb, &y)
			cc.Mod(&cc, m)
			bb, a = a, new(big.Int).Set(&cc)
		}
	}
	out := make([]uint16, n)
	c.str(out[:u], a)
	c.str(out[u:], bb)
	return out, nil
}

// prf fills s with R = PRF(P || Q) (CBC-MAC with a zero IV) followed by
// CIPH(R xor [j]^16) for j = 1, 2, ... as far as s reaches.
func (c *Cipher) prf(s, p, q []byte) {
	var r [16]byte
	c.block.Encrypt(r[:], p)
	for off := 0; off < len(q); off += 16 {
		for k := range 16 {
			r[k] ^= q[off+k]
		}
		c.block.Encrypt(r[:], r[:])
	}
	copy(s, r[:])
	for j := 1; j*16 < len(s); j++ {
		var in [16]byte
		copy(in[:], r[:])
		binary.BigEndian.PutUint64(in[8:], binary.BigEndian.Uint64(r[8:])^uint64(j))
		c.block.Encrypt(s[j*16:], in[:])
	}
}

// num is NUM_radix: the numerals read as a number, most significant first.
func (c *Cipher) num(x []uint16) *big.Int {
	n := new(big.Int)
	var d big.Int
	for _, v := range x {
		n.Mul(n, c.bigR)
		n.Add(n, d.SetUint64(uint64(v)))
	}
	return n
}

// str is STR^m_radix: n as len(out) numerals, most significant first.
func (c *Cipher) str(out []uint16, n *big.Int) {
	var q, r big.Int
	q.Set(n)
	for i := len(out) - 1; i >= 0; i-- {
		q.QuoRem(&q, c.bigR, &r)
		out[i] = uint16(r.Uint64())
	}
}
