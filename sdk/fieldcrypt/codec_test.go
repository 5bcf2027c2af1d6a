package fieldcrypt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/sdk/fieldcrypt/fieldcrypttest"
)

func field(t testing.TB, f Field) *Field {
	t.Helper()
	if err := f.Check(); err != nil {
		t.Fatal(err)
	}
	return &f
}

func TestRoundTripEveryMode(t *testing.T) {
	ctx := context.Background()
	c := New(&fieldcrypttest.Keys{Seed: "a"}, Limits{}, nil)
	cases := []struct {
		f     Field
		value string
	}{
		{Field{Column: "note", Key: "pii", Mode: Randomized}, "any bytes \x00\xff 张三"},
		{Field{Column: "note", Key: "pii", Mode: Randomized}, ""},
		{Field{Column: "email", Key: "pii", Mode: Deterministic}, "a@example.com"},
		{Field{Column: "email", Key: "pii", Mode: Deterministic, Version: 3}, ""},
		{Field{Column: "name", Key: "pii", Mode: BlindIndex}, "张三"},
		{Field{Column: "acct", Key: "pii", Mode: FPE}, "0123456789"},
		{Field{Column: "phone", Key: "pii", Mode: FPE, Format: FormatPhone, Tweak: "t"}, "13812345678"},
		{Field{Column: "id", Key: "pii", Mode: FPE, Format: FormatIDCard}, "11010519491231002X"},
		{Field{Column: "card", Key: "pii", Mode: FPE, Format: FormatBankCard}, "6222021234567890128"},
	}
	for _, tc := range cases {
		f := field(t, tc.f)
		stored, err := c.Encrypt(ctx, f, []byte(tc.value))
		if err != nil {
			t.Fatalf("%s %s: %v", f.Mode, f.Format, err)
		}
		if f.Mode != FPE && bytes.Contains(stored, []byte(tc.value)) && tc.value != "" {
			t.Errorf("%s: the ciphertext contains the value", f.Mode)
		}
		if f.Mode == FPE && (len(stored) != len(tc.value) || string(stored) == tc.value) {
			t.Errorf("fpe %s: %q → %q", f.Format, tc.value, stored)
		}
		back, err := c.Decrypt(ctx, f, stored)
		if err != nil || string(back) != tc.value {
			t.Errorf("%s %s: round trip = %q, %v", f.Mode, f.Format, back, err)
		}
		if Protected(f, stored) != (f.Mode == Randomized || f.Mode == BlindIndex || f.Mode == Deterministic) {
			t.Errorf("%s: Protected = %v", f.Mode, Protected(f, stored))
		}
		if Protected(f, []byte(tc.value)) {
			t.Errorf("%s: a plain value reads as protected", f.Mode)
		}
	}
	for _, f := range []*Field{field(t, Field{Column: "m", Mode: Mask, Mask: "phone"}), field(t, Field{Column: "p", Key: "pii", Mode: Pseudonym})} {
		out, err := c.Encrypt(ctx, f, []byte("13812345678"))
		if err != nil || string(out) == "13812345678" {
			t.Errorf("%s: %q, %v", f.Mode, out, err)
		}
		if _, err := c.Decrypt(ctx, f, out); !errors.Is(err, ErrIrreversible) {
			t.Errorf("%s decrypted: %v", f.Mode, err)
		}
	}
}

// TestFPEKeepsCheckDigits: encrypted ID card numbers keep a valid GB 11643
// check character and bank card numbers a valid Luhn digit; input with a
// wrong one is refused.
func TestFPEKeepsCheckDigits(t *testing.T) {
	ctx := context.Background()
	c := New(&fieldcrypttest.Keys{Seed: "a"}, Limits{}, nil)
	id := field(t, Field{Column: "id", Key: "k", Mode: FPE, Format: FormatIDCard})
	card := field(t, Field{Column: "card", Key: "k", Mode: FPE, Format: FormatBankCard})
	for i := range 200 {
		body := fmt.Sprintf("110105%011d", i*7919)
		in := body + string(idCheck([]byte(body)))
		out, err := c.Encrypt(ctx, id, []byte(in))
		if err != nil || idCheck(out[:17]) != out[17] {
			t.Fatalf("id %s → %s, %v", in, out, err)
		}
		num := fmt.Sprintf("622202%012d", i*104729)
		cn := num + string(luhnDigit([]byte(num)))
		out, err = c.Encrypt(ctx, card, []byte(cn))
		if err != nil || !luhnValid(out) {
			t.Fatalf("card %s → %s, %v", cn, out, err)
		}
	}
	for _, bad := range []struct {
		f *Field
		v string
	}{{id, "110105194912310021"}, {id, "11010519491231002"}, {card, "6222021234567890123"}, {card, "62220212345a"}} {
		if _, err := c.Encrypt(ctx, bad.f, []byte(bad.v)); !errors.Is(err, ErrInput) {
			t.Errorf("%s %q: %v, want ErrInput", bad.f.Format, bad.v, err)
		}
	}
}

// TestTamperingRefused changes every byte of stored values in turn: none
// decrypts to anything.
func TestTamperingRefused(t *testing.T) {
	ctx := context.Background()
	c := New(&fieldcrypttest.Keys{Seed: "a"}, Limits{}, nil)
	for _, f := range []*Field{field(t, Field{Column: "r", Key: "k", Mode: Randomized}), field(t, Field{Column: "d", Key: "k", Mode: Deterministic})} {
		stored, err := c.Encrypt(ctx, f, []byte("13812345678"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range stored {
			for _, x := range []byte{1, 0x20} {
				bad := bytes.Clone(stored)
				bad[i] ^= x
				if pt, err := c.Decrypt(ctx, f, bad); err == nil {
					t.Fatalf("%s: byte %d altered still decrypts to %q", f.Mode, i, pt)
				}
			}
		}
		if _, err := c.Decrypt(ctx, f, stored[:len(stored)-1]); err == nil {
			t.Errorf("%s: a value cut short decrypts", f.Mode)
		}
	}
}

// TestKeyMixUpsRefused: a field made under one key does not decrypt under
// another key name, another service's key of the same name, or with the
// key commitment of another data key.
func TestKeyMixUpsRefused(t *testing.T) {
	ctx := context.Background()
	ks := &fieldcrypttest.Keys{Seed: "a"}
	c := New(ks, Limits{}, nil)
	for _, mode := range []Mode{Randomized, Deterministic} {
		f := field(t, Field{Column: "c", Key: "one", Mode: mode})
		stored, err := c.Encrypt(ctx, f, []byte("secret"))
		if err != nil {
			t.Fatal(err)
		}
		other := field(t, Field{Column: "c", Key: "two", Mode: mode})
		if _, err := c.Decrypt(ctx, other, stored); err == nil {
			t.Errorf("%s: decrypted under another key name", mode)
		}
		if _, err := New(&fieldcrypttest.Keys{Seed: "b"}, Limits{}, nil).Decrypt(ctx, f, stored); err == nil {
			t.Errorf("%s: decrypted under another service's key", mode)
		}
	}
	// Splice another data key's wrapped form (which unwraps fine) into a
	// randomized field: its commitment does not match, so it is refused
	// before GCM is tried.
	f := field(t, Field{Column: "c", Key: "one", Mode: Randomized})
	a, _ := c.Encrypt(ctx, f, []byte("secret"))
	c2 := New(ks, Limits{}, nil)
	b, _ := c2.Encrypt(ctx, f, []byte("secret"))
	ra, _ := decode(MarkRandomized, a)
	rb, _ := decode(MarkRandomized, b)
	wl := int(ra[0])
	spliced := append(append([]byte(nil), rb[:1+wl]...), ra[1+wl:]...)
	if _, err := c.Decrypt(ctx, f, encode(MarkRandomized, spliced)); !errors.Is(err, ErrAuth) {
		t.Errorf("spliced wrapped key: %v, want ErrAuth", err)
	}
}

// TestCacheLimits: a data key serves at most MaxMessages fields, MaxBytes
// bytes and MaxAge; decryption unwraps each data key once.
func TestCacheLimits(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New(time.Unix(1e9, 0))
	ks := &fieldcrypttest.Keys{Seed: "a"}
	c := New(ks, Limits{MaxMessages: 3, MaxBytes: 100, MaxAge: time.Minute}, clock.Now)
	f := field(t, Field{Column: "c", Key: "k", Mode: Randomized})
	var stored [][]byte
	for range 10 {
		s, err := c.Encrypt(ctx, f, []byte("0123456789"))
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, s)
	}
	if n := ks.Calls.Load(); n != 4 { // 3 + 3 + 3 + 1
		t.Errorf("10 fields with 3 per key made %d calls, want 4", n)
	}
	if _, err := c.Encrypt(ctx, f, make([]byte, 101)); err == nil {
		t.Error("a field over MaxBytes was encrypted")
	}
	ks.Calls.Store(0)
	c = New(ks, Limits{MaxAge: time.Minute}, clock.Now)
	for range 5 {
		_, _ = c.Encrypt(ctx, f, []byte("x"))
	}
	clock.Advance(time.Minute)
	_, _ = c.Encrypt(ctx, f, []byte("x"))
	if n := ks.Calls.Load(); n != 2 {
		t.Errorf("a minute later: %d calls, want 2", n)
	}
	ks.Calls.Store(0)
	for _, s := range stored {
		if _, err := c.Decrypt(ctx, f, s); err != nil {
			t.Fatal(err)
		}
	}
	if n := ks.Calls.Load(); n != 4 {
		t.Errorf("decrypting fields of 4 data keys made %d calls, want 4", n)
	}
	if st := c.Stats(); st.Hits == 0 || st.HitRate() <= 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestEqualOutputsForEqualInputs: the deterministic mode and the blind
// index give equal outputs for equal (for the index: equally normalised)
// inputs and different ones otherwise; randomized never repeats.
func TestEqualOutputsForEqualInputs(t *testing.T) {
	ctx := context.Background()
	c := New(&fieldcrypttest.Keys{Seed: "a"}, Limits{}, nil)
	det := field(t, Field{Column: "d", Key: "k", Mode: Deterministic})
	idx := field(t, Field{Column: "b", Key: "k", Mode: BlindIndex})
	rnd := field(t, Field{Column: "r", Key: "k", Mode: Randomized})
	same := func(f func(*Field, []byte) ([]byte, error), fl *Field, a, b string) bool {
		x, err1 := f(fl, []byte(a))
		y, err2 := f(fl, []byte(b))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		return bytes.Equal(x, y)
	}
	enc := func(f *Field, v []byte) ([]byte, error) { return c.Encrypt(ctx, f, v) }
	ix := func(f *Field, v []byte) ([]byte, error) { return c.Index(ctx, f, v) }
	if !same(enc, det, "a@x.cn", "a@x.cn") || same(enc, det, "a@x.cn", "b@x.cn") {
		t.Error("deterministic equality is wrong")
	}
	if !same(ix, idx, " Zhang  San ", "zhang san") || same(ix, idx, "zhang san", "zhang si") {
		t.Error("blind index equality is wrong")
	}
	if same(enc, rnd, "a", "a") {
		t.Error("randomized repeated a ciphertext")
	}
	v2 := field(t, Field{Column: "b", Key: "k", Mode: BlindIndex, Version: 2})
	x, _ := c.Index(ctx, idx, []byte("v"))
	y, _ := c.Index(ctx, v2, []byte("v"))
	if bytes.Equal(x, y) {
		t.Error("two key versions give the same index")
	}
}

// TestIndexCollisions counts blind index collisions among distinct values
// (MIMA_COLLISION_VALUES, default 200,000; docs/data.md reports a run on
// 10,000,000) at 4 bytes, where the birthday bound n²/2^33 predicts some,
// and at 8 bytes, where it predicts none. Deterministic ciphertexts of
// distinct values never collide: they decrypt.
func TestIndexCollisions(t *testing.T) {
	n := 200_000
	if s := os.Getenv("MIMA_COLLISION_VALUES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	c := New(&fieldcrypttest.Keys{Seed: "a"}, Limits{}, nil)
	for _, size := range []int{4, 8} {
		f := field(t, Field{Column: "b", Key: "k", Mode: BlindIndex, IndexBytes: size})
		seen := make(map[string]struct{}, n)
		collisions := 0
		for i := range n {
			ix, err := c.Index(ctx, f, strconv.AppendInt(nil, int64(13800000000+i), 10))
			if err != nil {
				t.Fatal(err)
			}
			if _, dup := seen[string(ix)]; dup {
				collisions++
			}
			seen[string(ix)] = struct{}{}
		}
		expected := float64(n) * float64(n) / 2 / float64(uint64(1)<<(8*size-1)) / 2
		t.Logf("%d values, %d-byte index: %d collisions (birthday bound %.2f)", n, size, collisions, expected)
		if float64(collisions) > 3*expected+3 {
			t.Errorf("%d-byte index: %d collisions, far above the %.2f expected", size, collisions, expected)
		}
	}
}

func FuzzDecrypt(f *testing.F) {
	ctx := context.Background()
	c := New(&fieldcrypttest.Keys{Seed: "a"}, Limits{}, nil)
	fields := []*Field{field(f, Field{Column: "r", Key: "k", Mode: Randomized}), field(f, Field{Column: "d", Key: "k", Mode: Deterministic}), field(f, Field{Column: "i", Key: "k", Mode: FPE, Format: FormatIDCard})}
	for _, fl := range fields {
		s, err := c.Encrypt(ctx, fl, []byte("11010519491231002X"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
	}
	f.Add([]byte("mf1r."))
	f.Fuzz(func(t *testing.T, stored []byte) {
		for _, fl := range fields {
			pt, err := c.Decrypt(ctx, fl, stored)
			if err != nil || fl.Mode == FPE {
				continue
			}
			// Whatever decrypts authenticated: it re-encrypts to a value
			// that decrypts to the same plaintext.
			again, err := c.Encrypt(ctx, fl, pt)
			if err != nil {
				t.Fatal(err)
			}
			back, err := c.Decrypt(ctx, fl, again)
			if err != nil || !bytes.Equal(back, pt) {
				t.Fatalf("%s: %q decrypted to %q but does not round-trip", fl.Mode, stored, pt)
			}
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("fields: [{column: phone, key: pii, mode: fpe, format: phone}, {column: n, mode: mask, mask: \"3*4\"}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		for _, fl := range c.Fields {
			if fl.Column == "" || fl.Version < 1 {
				t.Fatalf("accepted an unchecked field %+v", fl)
			}
		}
	})
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte("fields:\n- {column: phone, key: pii, mode: fpe, format: phone}\n- {column: name, key: pii, mode: blind-index}\n- {column: addr, mode: mask, mask: \"3*4\"}\nroles: {analyst: [phone]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Fields[1].IndexColumn != "name_bidx" || c.Fields[0].Version != 1 || !c.MayDecrypt("analyst", "phone") || c.MayDecrypt("analyst", "name") {
		t.Errorf("config = %+v", c)
	}
	for _, bad := range []string{
		"fields: []",
		"fields: [{column: a, key: k, mode: rot13}]",
		"fields: [{column: a, mode: randomized}]",
		"fields: [{column: a, key: k, mode: fpe, format: iban}]",
		"fields: [{column: a, mode: mask}]",
		"fields: [{column: a, key: k, mode: randomized}, {column: a, key: k, mode: deterministic}]",
		"fields: [{column: a, key: k, mode: randomized, colour: red}]",
		"fields: [{column: a, key: k, mode: blind-index, index_bytes: 2}]",
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("%s was taken", bad)
		}
	}
}

// TestRevealByRole: a role with decrypt on the column sees the value, any
// other its mask.
func TestRevealByRole(t *testing.T) {
	ctx := context.Background()
	cfg, err := ParseConfig([]byte("fields: [{column: phone, key: pii, mode: randomized, mask: phone}]\nroles: {support: [phone]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := New(&fieldcrypttest.Keys{Seed: "a"}, Limits{}, nil)
	f := &cfg.Fields[0]
	stored, _ := c.Encrypt(ctx, f, []byte("13812345678"))
	if v, err := c.Reveal(ctx, cfg, "support", f, stored); err != nil || string(v) != "13812345678" {
		t.Errorf("support sees %q, %v", v, err)
	}
	if v, err := c.Reveal(ctx, cfg, "analyst", f, stored); err != nil || string(v) != "138****5678" {
		t.Errorf("analyst sees %q, %v", v, err)
	}
}

func benchField(b *testing.B, mode Mode, decrypt bool) {
	ctx := context.Background()
	ks := &fieldcrypttest.Keys{Seed: "a"}
	c := New(ks, Limits{}, nil)
	f := field(b, Field{Column: "c", Key: "k", Mode: mode})
	value := bytes.Repeat([]byte("x"), 64)
	stored, _ := c.Encrypt(ctx, f, value)
	b.SetBytes(64)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var err error
			if decrypt {
				_, err = c.Decrypt(ctx, f, stored)
			} else {
				_, err = c.Encrypt(ctx, f, value)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fields/s")
	b.ReportMetric(float64(ks.Calls.Load()), "service-calls")
	b.ReportMetric(c.Stats().HitRate(), "hit-rate")
}

func BenchmarkEncryptRandomized64(b *testing.B)    { benchField(b, Randomized, false) }
func BenchmarkDecryptRandomized64(b *testing.B)    { benchField(b, Randomized, true) }
func BenchmarkEncryptDeterministic64(b *testing.B) { benchField(b, Deterministic, false) }
func BenchmarkDecryptDeterministic64(b *testing.B) { benchField(b, Deterministic, true) }
