package butterfly

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm4"
	"github.com/mimacrypto/mima/internal/v2x/camptest"
)

// The CAMP vectors are read from testdata/camp-bfkeyexp.txt, a copy of the
// CAMP crypto test vectors (github.com/conz27/crypto-test-vectors), via
// ../shared/vectors/scms; see testdata/README.md.

// point decodes a "[0x…L], [0x…L]" value.
func point(t *testing.T, vs *camptest.Vectors, section, label string) Point {
	t.Helper()
	s := vs.Get(t, section, label)
	parts := strings.Split(s, ",")
	if len(parts) != 2 {
		t.Fatalf("%s: not a point: %q", label, s)
	}
	var c [2]*big.Int
	for n, p := range parts {
		p = strings.Trim(strings.TrimSpace(p), "[]L")
		v, ok := new(big.Int).SetString(strings.TrimPrefix(p, "0x"), 16)
		if !ok {
			t.Fatalf("%s: bad coordinate %q", label, p)
		}
		c[n] = v
	}
	return Point{X: c[0], Y: c[1]}
}

func be32(v *big.Int) []byte { return v.FillBytes(make([]byte, 32)) }

func equalBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got %X\nwant %X", what, got, want)
	}
}

func equalPoint(t *testing.T, what string, got, want Point) {
	t.Helper()
	equalBytes(t, what+".x", be32(got.X), be32(want.X))
	equalBytes(t, what+".y", be32(got.Y), be32(want.Y))
}

func TestCAMPVectors(t *testing.T) {
	vs := camptest.Load(t, "testdata/camp-bfkeyexp.txt")
	ib := vs.Bytes(t, "Curve: NISTp256", "i (32 bits)")
	jb := vs.Bytes(t, "Curve: NISTp256", "j (in range")
	if len(ib) != 4 || len(jb) != 4 {
		t.Fatalf("i, j: %X %X", ib, jb)
	}
	i := uint32(ib[0])<<24 | uint32(ib[1])<<16 | uint32(ib[2])<<8 | uint32(ib[3])
	j := uint32(jb[0])<<24 | uint32(jb[1])<<16 | uint32(jb[2])<<8 | uint32(jb[3])
	if i != 0x217D79E1 || j != 0x11 {
		t.Fatalf("parsed i=%#x j=%#x", i, j)
	}

	cases := []struct {
		kind                            Kind
		section                         string
		key, priv, pub, x, expPriv, exp string
	}{
		{Signing, "Expanding Certificate", "ck:", "a:", "A:", "x_cert:", "a + f_k(x_cert)", "A + f_k(x_cert)"},
		{Encryption, "Expanding Encryption", "ek:", "h:", "H:", "x_enc:", "h + f_k(x_enc)", "H + f_k(x_enc)"},
	}
	s := AESP256
	for _, c := range cases {
		t.Run(c.kind.String(), func(t *testing.T) {
			get := func(label string) []byte { return vs.Bytes(t, c.section, label) }
			key := get(c.key)

			x, err := input(c.kind, i, j)
			if err != nil {
				t.Fatal(err)
			}
			equalBytes(t, "x", x[:], get(c.x))

			var tr trace
			f, err := s.f(key, c.kind, i, j, &tr)
			if err != nil {
				t.Fatal(err)
			}
			for m := 1; m <= 3; m++ {
				equalBytes(t, fmt.Sprintf("x+%d", m), tr.in[m-1][:], get(fmt.Sprintf("x+%d:", m)))
				equalBytes(t, fmt.Sprintf("AES_k(x+%d)", m), tr.out[m-1][:], get(fmt.Sprintf("AES_k(x+%d):", m)))
				equalBytes(t, fmt.Sprintf("block %d", m), tr.blocks[m-1][:], get(fmt.Sprintf("AES_k(x+%d) XOR (x+%d):", m, m)))
			}
			equalBytes(t, "f_k^int", tr.fint[:], get("f_k^{int}(x)"))
			equalBytes(t, "f_k", be32(f), get("f_k(x) = f_k^{int}(x) mod l"))

			pub, err := s.F(key, c.kind, i, j)
			if err != nil {
				t.Fatal(err)
			}
			equalBytes(t, "F", be32(pub), be32(f))

			a := new(big.Int).SetBytes(get(c.priv))
			A := point(t, vs, c.section, c.pub)
			gotA, err := s.PublicKey(a)
			if err != nil {
				t.Fatal(err)
			}
			equalPoint(t, "caterpillar public key", gotA, A)

			aExp, err := s.ExpandPrivate(a, key, c.kind, i, j)
			if err != nil {
				t.Fatal(err)
			}
			equalBytes(t, "expanded private key", be32(aExp), get(c.expPriv))

			AExp, err := s.ExpandPublic(A, key, c.kind, i, j)
			if err != nil {
				t.Fatal(err)
			}
			wantExp := point(t, vs, c.section, c.exp)
			equalPoint(t, "expanded public key", AExp, wantExp)

			fromPriv, err := s.PublicKey(aExp)
			if err != nil {
				t.Fatal(err)
			}
			equalPoint(t, "expanded private key · G", fromPriv, wantExp)
		})
	}
	vs.CheckAllUsed(t)
	// Every value the file prints is also printed as a C array (i, j,
	// x_cert and x_enc excepted), and the loader checked each against it.
	if vs.Arrays() != vs.Len()-4 {
		t.Errorf("%d C arrays checked for %d values", vs.Arrays(), vs.Len())
	}
}

// randScalar returns a scalar in [1, n-1].
func randScalar(t *testing.T, r *rand.ChaCha8, n *big.Int) *big.Int {
	t.Helper()
	buf := make([]byte, 48)
	_, _ = r.Read(buf)
	nm1 := new(big.Int).Sub(n, big.NewInt(1))
	k := new(big.Int).SetBytes(buf)
	return k.Mod(k, nm1).Add(k, big.NewInt(1))
}

// indexPairs are the (i, j) the property tests run on: j = 1..20 in one
// period, and edge values of i and j.
func indexPairs(r *rand.ChaCha8) [][2]uint32 {
	var b [4]byte
	_, _ = r.Read(b[:])
	i := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	var ps [][2]uint32
	for j := uint32(1); j <= 20; j++ {
		ps = append(ps, [2]uint32{i, j})
	}
	return append(ps,
		[2]uint32{0, 0}, [2]uint32{0, 1}, [2]uint32{1, 0},
		[2]uint32{0x7FFFFFFF, 20}, [2]uint32{0x80000000, 1},
		[2]uint32{0xFFFFFFFF, 0xFFFFFFFF}, [2]uint32{0xFFFFFFFE, 19})
}

func TestExpansionProperties(t *testing.T) {
	for _, s := range []Suite{SM4SM2, AESP256} {
		t.Run(s.Name, func(t *testing.T) {
			r := rand.NewChaCha8([32]byte{1, 6, 0, 9, 2})
			n := s.Curve.Params().N
			pairs := indexPairs(r)
			for _, kind := range []Kind{Signing, Encryption} {
				a := randScalar(t, r, n)
				A, err := s.PublicKey(a)
				if err != nil {
					t.Fatal(err)
				}
				key := make([]byte, KeySize)
				_, _ = r.Read(key)
				seen := map[string][2]uint32{}
				for _, p := range pairs {
					i, j := p[0], p[1]
					priv, err := s.ExpandPrivate(a, key, kind, i, j)
					if err != nil {
						t.Fatal(err)
					}
					pub, err := s.ExpandPublic(A, key, kind, i, j)
					if err != nil {
						t.Fatal(err)
					}
					g, err := s.PublicKey(priv)
					if err != nil {
						t.Fatal(err)
					}
					if !g.Equal(pub) {
						t.Fatalf("%s i=%#x j=%d: expanded private key · G != expanded public key", kind, i, j)
					}
					if q, dup := seen[pub.X.String()]; dup {
						t.Fatalf("%s: (i,j)=%v and %v give the same cocoon key", kind, q, p)
					}
					seen[pub.X.String()] = p

					// Explicit certificate: the PCA's B + c·G against the
					// device's a + f + c.
					c := randScalar(t, r, n)
					certPub, err := s.CertPublic(pub, c)
					if err != nil {
						t.Fatal(err)
					}
					certPriv, err := s.CertPrivate(priv, c)
					if err != nil {
						t.Fatal(err)
					}
					f, err := s.F(key, kind, i, j)
					if err != nil {
						t.Fatal(err)
					}
					sum := new(big.Int).Add(a, f)
					sum.Add(sum, c).Mod(sum, n)
					if sum.Cmp(certPriv) != 0 {
						t.Fatalf("%s i=%#x j=%d: CertPrivate != a + f + c mod n", kind, i, j)
					}
					g, err = s.PublicKey(certPriv)
					if err != nil {
						t.Fatal(err)
					}
					if !g.Equal(certPub) {
						t.Fatalf("%s i=%#x j=%d: certificate private key · G != B + c·G", kind, i, j)
					}
					if certPub.Equal(pub) {
						t.Fatalf("%s i=%#x j=%d: B + c·G == B", kind, i, j)
					}
				}
			}
		})
	}
}

// TestSM4SM2Formula recomputes f_k(x) for SM4/SM2 straight from the
// formula, with gmsm's SM4 and the SM2 order, and compares with F.
func TestSM4SM2Formula(t *testing.T) {
	key := []byte("0123456789abcdef")
	block, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kind   Kind
		prefix byte
	}{{Signing, 0x00}, {Encryption, 0xFF}} {
		i, j := uint32(0x01020304), uint32(0x0A0B0C0D)
		var cat []byte
		for m := byte(1); m <= 3; m++ {
			x := []byte{c.prefix, c.prefix, c.prefix, c.prefix, 1, 2, 3, 4, 0x0A, 0x0B, 0x0C, 0x0D, 0, 0, 0, m}
			e := make([]byte, 16)
			block.Encrypt(e, x)
			for b := range e {
				e[b] ^= x[b]
			}
			cat = append(cat, e...)
		}
		want := new(big.Int).SetBytes(cat)
		want.Mod(want, SM4SM2.Curve.Params().N)
		got, err := SM4SM2.F(key, c.kind, i, j)
		if err != nil {
			t.Fatal(err)
		}
		if got.Cmp(want) != 0 {
			t.Errorf("%s: F = %x, want %x", c.kind, got, want)
		}
	}
}

// TestSuitesDiffer checks that the suite's cipher and order are really
// used: the same inputs give different cipher outputs and different f.
func TestSuitesDiffer(t *testing.T) {
	key := []byte("0123456789abcdef")
	for _, kind := range []Kind{Signing, Encryption} {
		var ta, ts trace
		fa, err := AESP256.f(key, kind, 7, 3, &ta)
		if err != nil {
			t.Fatal(err)
		}
		fs, err := SM4SM2.f(key, kind, 7, 3, &ts)
		if err != nil {
			t.Fatal(err)
		}
		if ta.in != ts.in {
			t.Errorf("%s: the two suites built different inputs", kind)
		}
		if ta.out[0] == ts.out[0] || ta.out[1] == ts.out[1] || ta.out[2] == ts.out[2] {
			t.Errorf("%s: AES and SM4 gave the same block", kind)
		}
		if fa.Cmp(fs) == 0 {
			t.Errorf("%s: AESP256 and SM4SM2 give the same f", kind)
		}
		if fs.Cmp(SM4SM2.Curve.Params().N) >= 0 || fa.Cmp(AESP256.Curve.Params().N) >= 0 {
			t.Errorf("%s: f not reduced", kind)
		}
	}
	fsig, _ := SM4SM2.F(key, Signing, 7, 3)
	fenc, _ := SM4SM2.F(key, Encryption, 7, 3)
	if fsig == nil || fenc == nil || fsig.Cmp(fenc) == 0 {
		t.Error("signing and encryption expansion give the same f")
	}
}

func TestAdd128Carry(t *testing.T) {
	x := [16]byte{15: 0xFE}
	x[14] = 0xFF
	got := add128(x, 3)
	want := [16]byte{13: 1, 14: 0, 15: 1}
	if got != want {
		t.Errorf("add128 = %X, want %X", got, want)
	}
	all := [16]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	if add128(all, 1) != ([16]byte{}) {
		t.Error("add128 does not wrap modulo 2^128")
	}
}

func TestInvalidInputs(t *testing.T) {
	s := SM4SM2
	n := s.Curve.Params().N
	key := make([]byte, KeySize)
	A, err := s.PublicKey(big.NewInt(5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.F(key[:15], Signing, 0, 1); !errors.Is(err, ErrKeySize) {
		t.Errorf("15-byte key: %v", err)
	}
	if _, err := s.F(make([]byte, 32), Signing, 0, 1); !errors.Is(err, ErrKeySize) {
		t.Errorf("32-byte key: %v", err)
	}
	if _, err := s.F(key, Kind(0), 0, 1); !errors.Is(err, ErrKind) {
		t.Errorf("zero kind: %v", err)
	}
	for _, a := range []*big.Int{nil, big.NewInt(0), big.NewInt(-1), n, new(big.Int).Add(n, big.NewInt(1))} {
		if _, err := s.ExpandPrivate(a, key, Signing, 0, 1); !errors.Is(err, ErrScalar) {
			t.Errorf("ExpandPrivate(%v): %v", a, err)
		}
		if _, err := s.CertPrivate(big.NewInt(1), a); !errors.Is(err, ErrScalar) {
			t.Errorf("CertPrivate(c=%v): %v", a, err)
		}
		if _, err := s.CertPublic(A, a); !errors.Is(err, ErrScalar) {
			t.Errorf("CertPublic(c=%v): %v", a, err)
		}
	}
	bad := []Point{
		{},
		{X: new(big.Int), Y: new(big.Int)},
		{X: A.X, Y: new(big.Int).Add(A.Y, big.NewInt(1))},
		{X: AESP256.Curve.Params().Gx, Y: AESP256.Curve.Params().Gy}, // P-256's G is not on SM2
	}
	for _, p := range bad {
		if _, err := s.ExpandPublic(p, key, Signing, 0, 1); !errors.Is(err, ErrPoint) {
			t.Errorf("ExpandPublic(%v): %v", p, err)
		}
		if _, err := s.CertPublic(p, big.NewInt(1)); !errors.Is(err, ErrPoint) {
			t.Errorf("CertPublic(%v): %v", p, err)
		}
	}
	// A zero result is refused rather than returned: c = n - d gives d + c ≡ 0.
	d := big.NewInt(12345)
	if _, err := s.CertPrivate(d, new(big.Int).Sub(n, d)); !errors.Is(err, ErrInfinity) {
		t.Errorf("CertPrivate to zero: %v", err)
	}
	P, _ := s.PublicKey(d)
	if _, err := s.CertPublic(P, new(big.Int).Sub(n, d)); !errors.Is(err, ErrInfinity) {
		t.Errorf("CertPublic to infinity: %v", err)
	}
}
