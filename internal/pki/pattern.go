package pki

import (
	"regexp"
	"strings"

	"github.com/mimacrypto/mima/internal/fault"
)

// maxPattern bounds the length of a name pattern.
const maxPattern = 512

// RegexPrefix marks a name pattern as a regular expression.
const RegexPrefix = "re:"

// compilePattern compiles a name pattern of a profile, as Profile
// describes them, into an anchored regular expression.
func compilePattern(p string) (*regexp.Regexp, error) {
	if len(p) > maxPattern || p == "" {
		return nil, fault.Invalid("a name pattern is 1 to %d bytes", maxPattern)
	}
	if expr, ok := strings.CutPrefix(p, RegexPrefix); ok {
		re, err := regexp.Compile(`^(?:` + expr + `)$`)
		if err != nil {
			return nil, fault.Invalid("pattern %q is not a valid regular expression: %v", p, err)
		}
		return re, nil
	}
	var b strings.Builder
	b.WriteString(`(?i)^`)
	for i := 0; i < len(p); {
		switch {
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(`.+`)
			i += 2
		case p[i] == '*':
			b.WriteString(`[^.]+`)
			i++
		default:
			j := i + 1
			for j < len(p) && p[j] != '*' {
				j++
			}
			b.WriteString(regexp.QuoteMeta(p[i:j]))
			i = j
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String()), nil
}

// patterns is a compiled list of name patterns.
type patterns struct {
	src []string
	res []*regexp.Regexp
}

func compilePatterns(src []string) (patterns, error) {
	ps := patterns{src: src}
	for _, p := range src {
		re, err := compilePattern(p)
		if err != nil {
			return patterns{}, err
		}
		ps.res = append(ps.res, re)
	}
	return ps, nil
}

// match reports whether any pattern matches name.
func (ps patterns) match(name string) bool {
	for _, re := range ps.res {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}
