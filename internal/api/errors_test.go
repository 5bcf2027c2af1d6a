package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/mimacrypto/mima/internal/fault"
)

// TestErrorCodesDocumented holds docs/errors.md to the code: every code
// declared in package fault is listed there with the HTTP status that
// statusOf gives it, and nothing else is listed.
func TestErrorCodesDocumented(t *testing.T) {
	declared := map[string]bool{}
	file, err := parser.ParseFile(token.NewFileSet(), "../fault/fault.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(file, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "Code" {
				for _, v := range vs.Values {
					if lit, ok := v.(*ast.BasicLit); ok {
						s, _ := strconv.Unquote(lit.Value)
						declared[s] = true
					}
				}
			}
		}
		return true
	})
	doc, err := os.ReadFile("../../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `([a-z0-9_]+)` \\| (\\d{3}) \\|").FindAllStringSubmatch(string(doc), -1)
	documented := map[string]bool{}
	for _, row := range rows {
		documented[row[1]] = true
		if !declared[row[1]] {
			t.Errorf("docs/errors.md lists %s, which package fault does not declare", row[1])
		}
		if got := strconv.Itoa(statusOf(fault.Code(row[1]))); got != row[2] {
			t.Errorf("%s: docs say HTTP %s, the API answers %s", row[1], row[2], got)
		}
	}
	for code := range declared {
		if !documented[code] {
			t.Errorf("code %s is not in docs/errors.md", code)
		}
	}
	if len(declared) < 20 {
		t.Fatalf("found only %d codes in fault.go; the parser missed them", len(declared))
	}
}
