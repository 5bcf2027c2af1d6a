package mask

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestKinds(t *testing.T) {
	cases := []struct {
		kind    Kind
		in, out string
	}{
		{Phone, "13812345678", "138****5678"},
		{IDCard, "11010519491231002X", "110***********002X"},
		{BankCard, "6222021234567890123", "622202*********0123"},
		{Name, "张三", "张*"},
		{Name, "欧阳娜娜", "欧***"},
		{Address, "北京市海淀区中关村大街1号", "北京市海淀区*******"},
	}
	for _, tc := range cases {
		got, err := Apply(tc.kind, tc.in)
		if err != nil || got != tc.out {
			t.Errorf("%s %q = %q, %v; want %q", tc.kind, tc.in, got, err, tc.out)
		}
	}
	for _, bad := range []struct {
		kind Kind
		in   string
	}{{Phone, "1381234567a"}, {Phone, "123"}, {IDCard, "1101051949123100"}, {IDCard, "11010519491231002Y"}, {BankCard, "62220212"}, {Name, ""}, {Name, "\xff"}} {
		if _, err := Apply(bad.kind, bad.in); !errors.Is(err, ErrInput) {
			t.Errorf("%s %q: %v, want ErrInput", bad.kind, bad.in, err)
		}
	}
	if _, err := Apply("email", "a@b"); err == nil {
		t.Error("an unknown kind was taken")
	}
}

// TestNeverRevealsMore is the property that a mask never shows more
// characters than its pattern keeps, nor more than half of a value no
// longer than the pattern, and keeps the length; the shown characters are
// the value's own.
func TestNeverRevealsMore(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("0123456789abcX张三李四*")
	for range 20000 {
		p := Pattern{Keep: rng.IntN(8), Tail: rng.IntN(8)}
		in := make([]rune, rng.IntN(30))
		for i := range in {
			in[i] = alphabet[rng.IntN(len(alphabet))]
		}
		out := []rune(p.Apply(string(in)))
		if len(out) != len(in) {
			t.Fatalf("%v on %q changed the length: %q", p, string(in), string(out))
		}
		shown := 0
		for i := range in {
			if out[i] == Char && in[i] != Char {
				continue
			}
			if out[i] != in[i] {
				t.Fatalf("%v on %q wrote %q at %d", p, string(in), out[i], i)
			}
			// A shown character sits in the kept head or tail.
			keep, tail := p.Shown(len(in))
			if i >= keep && i < len(in)-tail && in[i] != Char {
				t.Fatalf("%v on %q shows position %d", p, string(in), i)
			}
			if in[i] != Char {
				shown++
			}
		}
		if shown > p.Keep+p.Tail || (len(in) <= p.Keep+p.Tail && 2*shown > len(in)) {
			t.Fatalf("%v on %q shows %d characters", p, string(in), shown)
		}
	}
}

func TestParsePattern(t *testing.T) {
	if p, err := ParsePattern("3*4"); err != nil || p != (Pattern{3, 4}) || p.String() != "3*4" {
		t.Errorf("3*4 = %v, %v", p, err)
	}
	for _, bad := range []string{"", "3", "3*", "*4", "-1*2", "3*4*5", "99*1"} {
		if _, err := ParsePattern(bad); err == nil {
			t.Errorf("%q was taken", bad)
		}
	}
}

func TestGeneralize(t *testing.T) {
	if y, err := GeneralizeDate("1990-05-17"); err != nil || y != "1990" {
		t.Errorf("date = %q, %v", y, err)
	}
	if _, err := GeneralizeDate("17/05/1990"); !errors.Is(err, ErrInput) {
		t.Errorf("a non-ISO date: %v", err)
	}
	if b, err := GeneralizeNumber("37", 10); err != nil || b != "30-39" {
		t.Errorf("age = %q, %v", b, err)
	}
	if _, err := GeneralizeNumber("-3", 10); !errors.Is(err, ErrInput) {
		t.Errorf("negative: %v", err)
	}
}

func FuzzPattern(f *testing.F) {
	f.Add("3*4", "13812345678")
	f.Add("1*0", "张三")
	f.Fuzz(func(t *testing.T, pattern, in string) {
		p, err := ParsePattern(pattern)
		if err != nil {
			return
		}
		out := p.Apply(in)
		if utf8.RuneCountInString(out) != utf8.RuneCountInString(in) {
			t.Fatalf("length changed: %q → %q", in, out)
		}
		keep, tail := p.Shown(utf8.RuneCountInString(in))
		if strings.Count(out, string(Char)) < utf8.RuneCountInString(in)-keep-tail {
			t.Fatalf("%q → %q masks too little", in, out)
		}
	})
}
