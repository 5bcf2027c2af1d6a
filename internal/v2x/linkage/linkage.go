// Package linkage computes the linkage seeds, pre-linkage values and
// linkage values of the SCMS (the algorithms of IEEE 1609.2 clause 5.1.3.4,
// which IEEE 1609.2.1's linkage authorities run), generic over the hash of
// the seed chain and the block cipher of the pre-linkage value, and checks
// a certificate's linkage value against a linkage-based CRL entry.
//
// # Formulas
//
// All integers are big-endian. la_id is the linkage authority's 2-byte
// LaId, ls(i) its 16-byte LinkageSeed for i-period i, and j the 32-bit
// index of a certificate within the period.
//
// Seed evolution: H hashes 32 bytes and the new seed is the first 16 bytes
// of the digest,
//
//	ls(i) = H( la_id (2) || ls(i-1) (16) || 0x00 × 14 )[0:16]
//
// Pre-linkage value: E is the block cipher keyed with ls(i), on the block
//
//	m = la_id (2) || j (4) || 0x00 × 10
//	plv(i,j) = ( E_ls(i)(m) XOR m )[0:9]
//
// Linkage value, the 9-byte linkage-value of a certificate's linkageData,
// combined by the PCA from the plv of the two LAs:
//
//	lv(i,j) = plv1(i,j) XOR plv2(i,j)
//
// These layouts are those of the CAMP test vectors (lv file of
// github.com/conz27/crypto-test-vectors), which the tests reproduce byte
// for byte with SHA-256 and AES-128.
//
// # Profiles
//
// IEEE 1609.2-2022's ExpansionAlgorithmIdentifier (Ieee1609Dot2CrlBaseTypes)
// names the two pairs: sha256ForI-aesForJ ([SHA256AES]) and sm3ForI-sm4ForJ
// ([SM3SM4]); a ToBeSignedLinkageValueCrl without algorithm identifiers
// uses the SM3/SM4 pair when its crlCraca was obtained with SM3.
//
// # Revocation
//
// A linkage-based CRL entry gives iRev, jmax, the two LaIds and the two
// seeds ls1(iRev), ls2(iRev). A verifier hashes the seeds forward to the
// certificate's period i ≥ iRev and compares lv(i, j) for every j < jmax
// ([Suite.Matches]). The seed chain is one-way, so certificates of periods
// before iRev stay unlinkable.
package linkage

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"fmt"
	"hash"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// Suite is the hash of the seed evolution and the block cipher of the
// pre-linkage value. The hash must give at least 16 bytes; the cipher must
// take a 16-byte key and have 16-byte blocks.
type Suite struct {
	Name      string
	NewHash   func() hash.Hash
	NewCipher func(key []byte) (cipher.Block, error)
}

// SHA256AES is sha256ForI-aesForJ, the IEEE / CAMP suite.
var SHA256AES = Suite{Name: "sha256ForI-aesForJ", NewHash: sha256.New, NewCipher: aes.NewCipher}

// SM3SM4 is sm3ForI-sm4ForJ, the Chinese profile's suite.
var SM3SM4 = Suite{Name: "sm3ForI-sm4ForJ", NewHash: sm3.New, NewCipher: sm4.NewCipher}

// LaID is a linkage authority identifier (LaId, 2 bytes, big-endian).
type LaID [2]byte

// Seed is a linkage seed ls(i) (LinkageSeed, 16 bytes).
type Seed [16]byte

// seedChain evolves seeds of one LA with one hash state.
type seedChain struct {
	h   hash.Hash
	in  [32]byte // la_id || ls || 0^112
	sum []byte
}

func (s Suite) newSeedChain(la LaID) *seedChain {
	c := &seedChain{h: s.NewHash()}
	if c.h.Size() < len(Seed{}) {
		panic(fmt.Sprintf("linkage: %s hash gives %d bytes, need 16", s.Name, c.h.Size()))
	}
	c.in[0], c.in[1] = la[0], la[1]
	return c
}

// advance returns ls hashed forward n times.
func (c *seedChain) advance(ls Seed, n uint32) Seed {
	for range n {
		copy(c.in[2:18], ls[:])
		c.h.Reset()
		c.h.Write(c.in[:])
		c.sum = c.h.Sum(c.sum[:0])
		copy(ls[:], c.sum)
	}
	return ls
}

// NextSeed returns ls(i) = first 16 bytes of H(la || ls(i-1) || 0^112),
// given ls = ls(i-1). It panics if the suite's hash is shorter than 16 bytes.
func (s Suite) NextSeed(la LaID, ls Seed) Seed {
	return s.newSeedChain(la).advance(ls, 1)
}

// SeedAt returns ls(i), NextSeed applied i times to ls0 = ls(0). More
// generally it moves a seed i periods forward.
func (s Suite) SeedAt(la LaID, ls0 Seed, i uint32) Seed {
	return s.newSeedChain(la).advance(ls0, i)
}

// plvCipher is the pre-linkage value function for one LA and one seed,
// with its cipher input and output buffers.
type plvCipher struct {
	b    cipher.Block
	m, e [16]byte // la || j || 0^80, and E(m)
}

func (s Suite) newPLV(la LaID, ls Seed) *plvCipher {
	b, err := s.NewCipher(ls[:])
	if err != nil {
		panic(fmt.Sprintf("linkage: %s cipher: %v", s.Name, err))
	}
	if b.BlockSize() != 16 {
		panic(fmt.Sprintf("linkage: %s cipher has %d-byte blocks, need 16", s.Name, b.BlockSize()))
	}
	p := &plvCipher{b: b}
	p.m[0], p.m[1] = la[0], la[1]
	return p
}

// block sets m = la || j || 0^80 and e = E(m).
func (p *plvCipher) block(j uint32) {
	p.m[2], p.m[3], p.m[4], p.m[5] = byte(j>>24), byte(j>>16), byte(j>>8), byte(j)
	p.b.Encrypt(p.e[:], p.m[:])
}

func (p *plvCipher) value(j uint32) [9]byte {
	p.block(j)
	var out [9]byte
	for k := range out {
		out[k] = p.e[k] ^ p.m[k]
	}
	return out
}

// PreLinkageValue returns plv(i,j) = first 9 bytes of
// E_ls(la || j || 0^80) XOR (la || j || 0^80), for ls = ls(i). It panics if
// the suite's cipher refuses a 16-byte key or has another block size.
func (s Suite) PreLinkageValue(la LaID, ls Seed, j uint32) [9]byte {
	return s.newPLV(la, ls).value(j)
}

// Value returns the linkage value lv = plv1 XOR plv2.
func Value(plv1, plv2 [9]byte) [9]byte {
	var lv [9]byte
	for k := range lv {
		lv[k] = plv1[k] ^ plv2[k]
	}
	return lv
}

// Matches reports whether lv is the linkage value lv(i, j) of the device
// whose seeds at period iRev are seed1 (of LA la1) and seed2 (of LA la2),
// for some j in 0 … jMax-1, that is whether a certificate of period i with
// linkage value lv is revoked by that CRL entry. It is false for i < iRev:
// seeds are not hashed backwards. The cost is i-iRev hashes per seed and
// 2·jMax block encryptions.
//
// j starts at 0. The CAMP vectors number a period's certificates j = 1 … 20;
// a CRL for such a device needs jMax = 21 to cover j = 20.
func (s Suite) Matches(la1, la2 LaID, seed1, seed2 Seed, iRev, i uint32, jMax uint32, lv [9]byte) bool {
	for _, v := range s.Values(la1, la2, seed1, seed2, iRev, i, jMax) {
		if v == lv {
			return true
		}
	}
	return false
}

// Values returns the linkage values lv(i, j) for j < jMax of the device
// whose seeds at period iRev are seed1 and seed2, or nil when i < iRev
// (seeds cannot be hashed backwards). A verifier that checks many
// certificates computes them once per CRL entry and period.
func (s Suite) Values(la1, la2 LaID, seed1, seed2 Seed, iRev, i uint32, jMax uint32) [][9]byte {
	if i < iRev || jMax == 0 {
		return nil
	}
	p1 := s.newPLV(la1, s.newSeedChain(la1).advance(seed1, i-iRev))
	p2 := s.newPLV(la2, s.newSeedChain(la2).advance(seed2, i-iRev))
	out := make([][9]byte, jMax)
	for j := range jMax {
		out[j] = Value(p1.value(j), p2.value(j))
	}
	return out
}
