// Package camptest reads the CAMP crypto test vector files
// (github.com/conz27/crypto-test-vectors, copied under testdata/ of the
// packages that use them) for tests: every labelled value, checked against
// the C arrays the files print beside it, and a record of which values a
// test looked at.
package camptest

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// vector is one "label / 0x value" pair of a CAMP vector file, with the
// headings ("Title\n-----") it appears under.
type vector struct {
	section, label, value string
}

// Vectors is a parsed CAMP vector file; used records which entries a test
// looked up, so that it can check it looked at all of them.
type Vectors struct {
	list []vector
	used []bool
	// arrays counts the C arrays ("[be] x[16] = { 0x.., … }" and the
	// "[le]" 32-bit word forms) found equal to the value above them.
	arrays int
}

// Load reads a CAMP vector file: a value line starts with "0x" or
// "[0x" and belongs to the closest label line above it; a line underlined
// with '=' or '-' is a heading. Each C array that follows a value must
// spell the same number, or the test fails.
func Load(t testing.TB, path string) *Vectors {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		lines = append(lines, strings.TrimSpace(sc.Text()))
	}
	vs := &Vectors{}
	var h1, h2, label string
	var array []string // lines of the C array being read, nil outside one
	depth := 0
	for n, l := range lines {
		if array == nil && (strings.HasPrefix(l, "[be]") || strings.HasPrefix(l, "[le]") || strings.Contains(l, "] =")) {
			array = []string{}
		}
		if array != nil {
			array = append(array, l)
			depth += strings.Count(l, "{") - strings.Count(l, "}")
			if depth == 0 && strings.Contains(l, "}") {
				vs.checkArray(t, array)
				array = nil
			}
			continue
		}
		if n+1 < len(lines) && isRule(lines[n+1]) {
			if lines[n+1][0] == '=' {
				h1, h2 = l, ""
			} else {
				h2 = l
			}
			continue
		}
		switch {
		case l == "" || isRule(l):
		case strings.HasPrefix(l, "0x") || strings.HasPrefix(l, "[0x"):
			vs.list = append(vs.list, vector{section: h1 + " / " + h2, label: label, value: l})
		default:
			label = l
		}
	}
	if len(vs.list) == 0 || array != nil {
		t.Fatalf("%s: no vectors, or an unclosed array", path)
	}
	vs.used = make([]bool, len(vs.list))
	return vs
}

// checkArray compares a C array with the last value read.
func (vs *Vectors) checkArray(t testing.TB, array []string) {
	t.Helper()
	if len(vs.list) == 0 {
		t.Fatalf("array before any value: %q", array[0])
	}
	last := vs.list[len(vs.list)-1]
	var words []string // the hex numbers, in file order
	for _, f := range strings.FieldsFunc(strings.Join(array, " "), func(r rune) bool {
		return r == ' ' || r == ',' || r == '{' || r == '}'
	}) {
		if strings.HasPrefix(f, "0x") {
			words = append(words, strings.TrimPrefix(f, "0x"))
		}
	}
	var want string
	if strings.HasPrefix(last.value, "[0x") {
		for _, c := range strings.Split(last.value, ",") {
			c = strings.TrimPrefix(strings.Trim(strings.TrimSpace(c), "[]L"), "0x")
			want += strings.Repeat("0", 64-len(c)) + c
		}
	} else {
		want = strings.TrimPrefix(last.value, "0x")
	}
	var got string
	if strings.HasPrefix(array[0], "[le]") {
		// 32-bit words, least significant first, per coordinate.
		per := len(words)
		if strings.HasPrefix(last.value, "[0x") {
			per /= 2
		}
		for off := 0; off < len(words); off += per {
			for k := off + per - 1; k >= off; k-- {
				got += words[k]
			}
		}
	} else {
		got = strings.Join(words, "")
	}
	if !strings.EqualFold(got, want) {
		t.Fatalf("array %q does not match %q:\n%s\n%s", array[0], last.label, got, want)
	}
	vs.arrays++
}

func isRule(l string) bool {
	return len(l) >= 3 && (strings.Trim(l, "=") == "" || strings.Trim(l, "-") == "")
}

// get returns the value whose section contains section and whose label
// starts with label; exactly one must match.
func (vs *Vectors) Get(t testing.TB, section, label string) string {
	t.Helper()
	found := -1
	for n, v := range vs.list {
		if strings.Contains(v.section, section) && strings.HasPrefix(v.label, label) {
			if found >= 0 {
				t.Fatalf("vector %q / %q: several matches", section, label)
			}
			found = n
		}
	}
	if found < 0 {
		t.Fatalf("vector %q / %q: not found", section, label)
	}
	vs.used[found] = true
	return vs.list[found].value
}

// checkAllUsed fails the test for every vector it did not look up.
func (vs *Vectors) CheckAllUsed(t testing.TB) {
	t.Helper()
	for n, v := range vs.list {
		if !vs.used[n] {
			t.Errorf("vector not checked: %s / %s", v.section, v.label)
		}
	}
}

// bytes decodes a "0x…" value.
func (vs *Vectors) Bytes(t testing.TB, section, label string) []byte {
	t.Helper()
	s := vs.Get(t, section, label)
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	return b
}

// Len is the number of values in the file.
func (vs *Vectors) Len() int { return len(vs.list) }

// Arrays is the number of C arrays found equal to the value above them.
func (vs *Vectors) Arrays() int { return vs.arrays }
