package linkage

import (
	"bytes"
	"crypto/aes"
	"crypto/sha256"
	"math/rand/v2"
	"testing"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
	"github.com/mimacrypto/mima/internal/v2x/camptest"
)

// The CAMP vectors are read from testdata/camp-lv.txt, a copy of the CAMP
// crypto test vectors (github.com/conz27/crypto-test-vectors), via
// ../shared/vectors/scms; see testdata/README.md.

func equalBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got %X\nwant %X", what, got, want)
	}
}

func TestCAMPVectors(t *testing.T) {
	vs := camptest.Load(t, "testdata/camp-lv.txt")
	var las [2]LaID
	for n, label := range []string{"LA1 ID", "LA2 ID"} {
		b := vs.Bytes(t, "", label)
		if len(b) != 2 {
			t.Fatalf("%s: %X", label, b)
		}
		las[n] = LaID(b)
	}
	if las != [2]LaID{{0x8E, 0x09}, {0x59, 0xCE}} {
		t.Fatalf("parsed LA ids %X", las)
	}
	s := SHA256AES

	// seeds[n][i] is ls_{n+1}(i); lvs[i] is (j, lv(i,j)) of period i.
	var seeds [2][2]Seed
	var lvs [2]struct {
		j  uint32
		lv [9]byte
	}
	for i := range uint32(2) {
		period := "i = " + string(rune('0'+i)) + " / "
		jb := vs.Bytes(t, period, "j (in range")
		if len(jb) != 4 {
			t.Fatalf("j: %X", jb)
		}
		j := uint32(jb[0])<<24 | uint32(jb[1])<<16 | uint32(jb[2])<<8 | uint32(jb[3])

		var plv [2][9]byte
		for n, la := range las {
			a := string(rune('1' + n))
			sec := period + "LA" + a
			get := func(label string) []byte { return vs.Bytes(t, sec, label) }
			lsName := "ls" + a + "(" + string(rune('0'+i)) + ")"
			if i == 0 {
				copy(seeds[n][0][:], get(lsName+" = AES key"))
			} else {
				// Seed evolution from ls(0), with the hash's input and output.
				c := s.newSeedChain(la)
				ls := c.advance(seeds[n][0], 1)
				equalBytes(t, sec+" SHA-256 input", c.in[:], get("SHA-256 input"))
				equalBytes(t, sec+" SHA-256 output", c.sum, get("SHA-256 output"))
				equalBytes(t, sec+" "+lsName, ls[:], get(lsName+" = AES key"))
				next := s.NextSeed(la, seeds[n][0])
				at := s.SeedAt(la, seeds[n][0], 1)
				equalBytes(t, sec+" NextSeed", next[:], ls[:])
				equalBytes(t, sec+" SeedAt", at[:], ls[:])
				seeds[n][1] = ls
			}
			p := s.newPLV(la, seeds[n][i])
			p.block(j)
			equalBytes(t, sec+" AES input", p.m[:], get("AES input plaintext"))
			equalBytes(t, sec+" AES output", p.e[:], get("AES output"))
			plv[n] = s.PreLinkageValue(la, seeds[n][i], j)
			equalBytes(t, sec+" plv", plv[n][:], get("plv"+a+"("+string(rune('0'+i))+",j)"))
		}
		lv := Value(plv[0], plv[1])
		lvName := "lv(" + string(rune('0'+i)) + ",j)"
		equalBytes(t, lvName, lv[:], vs.Bytes(t, period+lvName, lvName+" = plv1"))
		lvs[i].j, lvs[i].lv = j, lv
	}
	vs.CheckAllUsed(t)
	// Every value but the LA ids and the j's is also printed as a C array,
	// which the loader checked against it.
	if vs.Arrays() != vs.Len()-4 {
		t.Errorf("%d C arrays checked for %d values", vs.Arrays(), vs.Len())
	}

	// The CRL check on the CAMP device: revoked from period 0, and from 1.
	la1, la2 := las[0], las[1]
	for i, v := range lvs {
		if !s.Matches(la1, la2, seeds[0][0], seeds[1][0], 0, uint32(i), 21, v.lv) {
			t.Errorf("iRev=0: lv(%d,%d) not matched", i, v.j)
		}
		if s.Matches(la1, la2, seeds[0][0], seeds[1][0], 0, uint32(i), v.j, v.lv) {
			t.Errorf("iRev=0, jMax=%d: lv(%d,%d) matched with j = jMax", v.j, i, v.j)
		}
		if !s.Matches(la1, la2, seeds[0][0], seeds[1][0], 0, uint32(i), v.j+1, v.lv) {
			t.Errorf("iRev=0, jMax=%d: lv(%d,%d) not matched", v.j+1, i, v.j)
		}
		// lv is symmetric in the two LAs, but each seed belongs to its LA id.
		if !s.Matches(la2, la1, seeds[1][0], seeds[0][0], 0, uint32(i), 21, v.lv) {
			t.Errorf("LAs listed the other way round: lv(%d,%d) not matched", i, v.j)
		}
		if s.Matches(la1, la2, seeds[1][0], seeds[0][0], 0, uint32(i), 21, v.lv) {
			t.Errorf("seeds paired with the wrong LA ids: lv(%d,%d) matched", i, v.j)
		}
	}
	if !s.Matches(la1, la2, seeds[0][1], seeds[1][1], 1, 1, 21, lvs[1].lv) {
		t.Error("iRev=1: lv(1,j) not matched")
	}
	for i := range uint32(3) {
		if s.Matches(la1, la2, seeds[0][1], seeds[1][1], 1, i, 21, lvs[0].lv) {
			t.Errorf("iRev=1: lv(0,j) matched at period %d", i)
		}
	}
	if s.Matches(la1, la2, seeds[0][0], seeds[1][0], 0, 0, 21, lvs[1].lv) {
		t.Error("lv(1,j) matched at period 0")
	}
}

type device struct {
	la1, la2     LaID
	ls1_0, ls2_0 Seed
}

func newDevice(r *rand.ChaCha8, la1, la2 LaID) device {
	d := device{la1: la1, la2: la2}
	_, _ = r.Read(d.ls1_0[:])
	_, _ = r.Read(d.ls2_0[:])
	return d
}

// lv computes lv(i,j) from the period-0 seeds, the way the two LAs and the
// PCA do.
func (d device) lv(s Suite, i, j uint32) [9]byte {
	return Value(
		s.PreLinkageValue(d.la1, s.SeedAt(d.la1, d.ls1_0, i), j),
		s.PreLinkageValue(d.la2, s.SeedAt(d.la2, d.ls2_0, i), j))
}

// crl returns the seeds a CRL revoking d from period iRev carries.
func (d device) crl(s Suite, iRev uint32) (Seed, Seed) {
	return s.SeedAt(d.la1, d.ls1_0, iRev), s.SeedAt(d.la2, d.ls2_0, iRev)
}

func TestMatchesProperties(t *testing.T) {
	for _, s := range []Suite{SM3SM4, SHA256AES} {
		t.Run(s.Name, func(t *testing.T) {
			r := rand.NewChaCha8([32]byte{'l', 'v'})
			la1, la2 := LaID{0x12, 0x34}, LaID{0xAB, 0xCD}
			dev := newDevice(r, la1, la2)
			other := newDevice(r, la1, la2) // same LAs, other seeds
			const iRev, jMax = 7, 20
			seed1, seed2 := dev.crl(s, iRev)

			for i := uint32(iRev); i < iRev+12; i++ {
				for j := range uint32(jMax) {
					if !s.Matches(la1, la2, seed1, seed2, iRev, i, jMax, dev.lv(s, i, j)) {
						t.Fatalf("own lv(%d,%d) not matched", i, j)
					}
					if s.Matches(la1, la2, seed1, seed2, iRev, i, jMax, other.lv(s, i, j)) {
						t.Fatalf("other device's lv(%d,%d) matched", i, j)
					}
				}
				if s.Matches(la1, la2, seed1, seed2, iRev, i, jMax, dev.lv(s, i, jMax)) {
					t.Fatalf("lv(%d,%d) matched with j = jMax", i, jMax)
				}
				if s.Matches(la1, la2, seed1, seed2, iRev, i+1, jMax, dev.lv(s, i, 0)) {
					t.Fatalf("lv(%d,0) matched at period %d", i, i+1)
				}
			}
			// Before iRev: the device's own certificates are not linked,
			// neither at their own period nor at any later one.
			for i := range uint32(iRev) {
				for j := range uint32(jMax) {
					old := dev.lv(s, i, j)
					if s.Matches(la1, la2, seed1, seed2, iRev, i, jMax, old) {
						t.Fatalf("lv(%d,%d) before iRev matched", i, j)
					}
					for later := uint32(iRev); later < iRev+3; later++ {
						if s.Matches(la1, la2, seed1, seed2, iRev, later, jMax, old) {
							t.Fatalf("lv(%d,%d) before iRev matched at period %d", i, j, later)
						}
					}
				}
				// Even the value the CRL seeds give at iRev is not
				// reported for an earlier period.
				if s.Matches(la1, la2, seed1, seed2, iRev, i, jMax, dev.lv(s, iRev, 0)) {
					t.Fatalf("period %d < iRev matched", i)
				}
			}
			if s.Matches(la1, la2, seed1, seed2, iRev, iRev, 0, dev.lv(s, iRev, 0)) {
				t.Fatal("jMax = 0 matched")
			}
		})
	}
}

func TestSeedChain(t *testing.T) {
	for _, s := range []Suite{SM3SM4, SHA256AES} {
		t.Run(s.Name, func(t *testing.T) {
			la := LaID{0x8E, 0x09}
			ls0 := Seed{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
			if s.SeedAt(la, ls0, 0) != ls0 {
				t.Error("SeedAt(0) != ls(0)")
			}
			const n = 3000
			ls := ls0
			seen := map[Seed]int{ls0: 0}
			for i := 1; i <= n; i++ {
				ls = s.NextSeed(la, ls)
				if k, dup := seen[ls]; dup {
					t.Fatalf("ls(%d) == ls(%d)", i, k)
				}
				seen[ls] = i
			}
			if got := s.SeedAt(la, ls0, n); got != ls {
				t.Errorf("SeedAt(%d) = %X, NextSeed×%d = %X", n, got, n, ls)
			}
			if got := s.SeedAt(la, s.SeedAt(la, ls0, 1234), n-1234); got != ls {
				t.Error("SeedAt(a+b) != SeedAt(SeedAt(a), b)")
			}
			if s.NextSeed(LaID{0x8E, 0x0A}, ls0) == s.NextSeed(la, ls0) {
				t.Error("LA id does not enter the seed evolution")
			}
			if s.PreLinkageValue(LaID{0x8E, 0x0A}, ls0, 1) == s.PreLinkageValue(la, ls0, 1) {
				t.Error("LA id does not enter the pre-linkage value")
			}
			if s.PreLinkageValue(la, ls0, 1) == s.PreLinkageValue(la, ls0, 2) {
				t.Error("j does not enter the pre-linkage value")
			}
		})
	}
}

// TestSM3SM4Formula recomputes a seed step and a plv for SM3/SM4 straight
// from the formulas with gmsm, and checks that the suites differ.
func TestSM3SM4Formula(t *testing.T) {
	la := LaID{0x59, 0xCE}
	ls := Seed{0xA0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xFF}
	in := append(append(la[:], ls[:]...), make([]byte, 14)...)
	sum := sm3.Sum(in)
	nextSeed := SM3SM4.NextSeed(la, ls)
	next := nextSeed[:]
	equalBytes(t, "SM3 seed step", next, sum[:16])

	const j = 0x01020304
	m := []byte{0x59, 0xCE, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	b, err := sm4.NewCipher(ls[:])
	if err != nil {
		t.Fatal(err)
	}
	e := make([]byte, 16)
	b.Encrypt(e, m)
	for k := range e {
		e[k] ^= m[k]
	}
	plv := SM3SM4.PreLinkageValue(la, ls, j)
	equalBytes(t, "SM4 plv", plv[:], e[:9])

	shaSum := sha256.Sum256(in)
	if bytes.Equal(shaSum[:16], next) {
		t.Error("SM3 and SHA-256 seeds agree")
	}
	ab, err := aes.NewCipher(ls[:])
	if err != nil {
		t.Fatal(err)
	}
	ea := make([]byte, 16)
	ab.Encrypt(ea, m)
	for k := range ea {
		ea[k] ^= m[k]
	}
	aplv := SHA256AES.PreLinkageValue(la, ls, j)
	equalBytes(t, "AES plv", aplv[:], ea[:9])
	if aplv == plv {
		t.Error("SM4 and AES give the same plv")
	}
	anext := SHA256AES.NextSeed(la, ls)
	equalBytes(t, "SHA-256 seed step", anext[:], shaSum[:16])
}

func TestValue(t *testing.T) {
	a := [9]byte{0xFF, 0, 0x0F, 1, 2, 3, 4, 5, 6}
	b := [9]byte{0x0F, 0, 0xF0, 1, 0, 0, 0, 0, 0x80}
	if got, want := Value(a, b), ([9]byte{0xF0, 0, 0xFF, 0, 2, 3, 4, 5, 0x86}); got != want {
		t.Errorf("Value = %X, want %X", got, want)
	}
	if Value(a, a) != ([9]byte{}) {
		t.Error("Value(a, a) != 0")
	}
}

// BenchmarkMatches checks one revoked-device entry against a certificate
// in each of 52 i-periods (a year of weeks) with jMax = 20, none matching:
// the verifier's worst case per CRL entry and certificate.
func BenchmarkMatches(b *testing.B) {
	for _, s := range []Suite{SHA256AES, SM3SM4} {
		b.Run(s.Name, func(b *testing.B) {
			r := rand.NewChaCha8([32]byte{'b'})
			dev := newDevice(r, LaID{1, 2}, LaID{3, 4})
			other := newDevice(r, LaID{1, 2}, LaID{3, 4})
			const iRev, periods, jMax = 100, 52, 20
			seed1, seed2 := dev.crl(s, iRev)
			var lvs [periods][9]byte
			for k := range lvs {
				lvs[k] = other.lv(s, iRev+uint32(k), 3)
			}
			b.ResetTimer()
			for b.Loop() {
				for k := range uint32(periods) {
					if s.Matches(dev.la1, dev.la2, seed1, seed2, iRev, iRev+k, jMax, lvs[k]) {
						b.Fatal("unexpected match")
					}
				}
			}
		})
	}
}
