package dbproxy

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func testRules(t testing.TB) *Rules {
	t.Helper()
	r, err := ParseRules([]byte(`columns:
  - {table: customers, column: phone, key: pii, mode: deterministic}
  - {table: customers, column: name, key: pii, mode: blind-index}
  - {table: customers, column: note, key: notes, mode: randomized}
`))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tagged "encrypts" by tagging, so rewritten SQL is readable.
func tagged(c *Column, index bool, v string) (string, error) {
	if index {
		return "IDX(" + v + ")", nil
	}
	return "ENC(" + c.Column + ":" + v + ")", nil
}

func TestAnalyze(t *testing.T) {
	r := testRules(t)
	for _, tc := range []struct {
		sql, want string // want: the SQL sent, or "refused"
		params    string // "n:column[:index]" of the plan's parameters, sorted
	}{
		{sql: "SELECT 1", want: "SELECT 1"},
		{sql: "select * from orders where phone like 'x%'", want: "select * from orders where phone like 'x%'"},
		{sql: "INSERT INTO customers (id, phone) VALUES (1, '138')", want: "INSERT INTO customers (id, phone) VALUES (1, 'ENC(phone:138)')"},
		{sql: "INSERT INTO customers (id, name) VALUES (1, 'Zhang')", want: "INSERT INTO customers (id, name, name_bidx) VALUES (1, 'ENC(name:Zhang)', 'IDX(Zhang)')"},
		{sql: "INSERT INTO customers (id, name) VALUES ($1, $2)", want: "INSERT INTO customers (id, name, name_bidx) VALUES ($1, $2, $3)", params: "2:name 3:name:index(2)"},
		{sql: "UPDATE customers SET phone = $1 WHERE phone = $2", want: "UPDATE customers SET phone = $1 WHERE phone = $2", params: "1:phone 2:phone"},
		{sql: "SELECT c.note FROM customers c WHERE c.name = 'x'", want: "SELECT c.note FROM customers c WHERE c.name_bidx = 'IDX(x)'"},
		{sql: "SELECT id FROM customers WHERE phone IS NULL", want: "SELECT id FROM customers WHERE phone IS NULL"},
		{sql: "WITH x AS (INSERT INTO customers (id, phone) VALUES (1, '138') RETURNING id) SELECT * FROM x", want: "WITH x AS (INSERT INTO customers (id, phone) VALUES (1, 'ENC(phone:138)') RETURNING id) SELECT * FROM x"},
		{sql: "INSERT INTO customers (id, phone) VALUES (1, '138') ON CONFLICT (id) DO UPDATE SET phone = '139'", want: "INSERT INTO customers (id, phone) VALUES (1, 'ENC(phone:138)') ON CONFLICT (id) DO UPDATE SET phone = 'ENC(phone:139)'"},
		{sql: `INSERT INTO U&"\0063ustomers" (id, phone) VALUES (1, '138')`, want: "INSERT INTO customers (id, phone) VALUES (1, 'ENC(phone:138)')"},
		{sql: "MERGE INTO customers c USING other o ON c.id = o.id WHEN NOT MATCHED THEN INSERT (id, phone) VALUES (o.id, '138')", want: "refused"},
		{sql: "SELECT id FROM customers WHERE '138' = phone::text", want: "refused"},
		{sql: "SELECT id FROM customers WHERE note = $1", want: "refused"},
		{sql: "SELECT id FROM customers WHERE phone > '1'", want: "refused"},
		{sql: "SELECT upper(phone) FROM customers", want: "refused"},
		{sql: "SELECT id FROM customers ORDER BY phone", want: "refused"},
		{sql: "SELECT id FROM customers WHERE phone = note", want: "refused"},
		{sql: "INSERT INTO customers SELECT * FROM other", want: "refused"},
		{sql: "INSERT INTO customers (id, phone) SELECT id, phone FROM other", want: "refused"},
		{sql: "INSERT INTO customers (phone) VALUES (1)", want: "refused"},
		{sql: "INSERT INTO customers (phone) VALUES ('1' || '2')", want: "refused"},
		{sql: "INSERT INTO Customers (id, phone) VALUES (1)", want: "refused"},
		{sql: "COPY customers FROM STDIN", want: "refused"},
		{sql: "COPY customers (id, phone) FROM STDIN WITH (FORMAT csv)", want: "refused"},
		{sql: "COPY customers (id, phone) FROM '/tmp/x'", want: "refused"},
		{sql: "PREPARE p AS SELECT id FROM customers WHERE phone = $1", want: "refused"},
		{sql: "SELECT id FROM other; SELECT id FROM customers WHERE note LIKE 'a'", want: "refused"},
	} {
		p, err := r.analyze(tc.sql, tagged)
		if tc.want == "refused" {
			var se *sqlError
			if !errors.As(err, &se) || se.state != stateRefused {
				t.Errorf("%s: %v, want a refusal", tc.sql, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		if p.sql != tc.want {
			t.Errorf("%s:\n sent %s\n want %s", tc.sql, p.sql, tc.want)
		}
		if got := describeParams(p); got != tc.params {
			t.Errorf("%s: params %q, want %q", tc.sql, got, tc.params)
		}
	}
}

func describeParams(p *plan) string {
	var out []string
	for n := 1; n <= p.clientParams; n++ {
		if op, ok := p.params[n]; ok {
			s := strconv.Itoa(n) + ":" + op.col.Column
			if op.index {
				s += ":index"
			}
			out = append(out, s)
		}
	}
	for i, op := range p.added {
		out = append(out, strconv.Itoa(p.clientParams+i+1)+":"+op.col.Column+":index("+strconv.Itoa(op.from)+")")
	}
	return strings.Join(out, " ")
}

// FuzzAnalyze: any SQL is either planned or refused, never a panic; SQL
// whose plan sends it unchanged names no encrypted value.
func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{"SELECT 1", "INSERT INTO customers (id, name) VALUES ($1, $2)", "UPDATE customers SET phone = 'x' WHERE name = $1",
		"COPY customers (id, phone) TO STDOUT", "SELECT * FROM customers c JOIN customers d ON c.phone = d.phone"} {
		f.Add(s)
	}
	r := testRules(f)
	f.Fuzz(func(t *testing.T, sql string) {
		_, _ = r.analyze(sql, tagged)
	})
}

// FuzzCopyLine: COPY text lines keep their shape: the same number of
// fields, NULLs left alone, and values round-trip through the escapes.
func FuzzCopyLine(f *testing.F) {
	f.Add("1\t138\\tx\\\\y\t\\N", 1)
	f.Add("\\x41\\101\\n", 0)
	s := &session{}
	cols := []*Column{nil, {Column: "phone"}, {Column: "note"}}
	f.Fuzz(func(t *testing.T, line string, _ int) {
		if strings.Contains(line, "\n") {
			return
		}
		var seen []string
		out, err := s.copyLine(context.Background(), cols, []byte(line), func(_ context.Context, _ *Column, v string) (string, error) {
			seen = append(seen, v)
			return v, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Count(string(out), "\t"), strings.Count(line, "\t"); got != want {
			t.Fatalf("%q became %q", line, out)
		}
		// Values given back unchanged read back the same.
		i := 0
		for j, v := range strings.Split(string(out), "\t") {
			if j == 0 || j >= len(cols) || v == `\N` {
				continue
			}
			if copyUnescape(v) != seen[i] {
				t.Fatalf("%q: value %q written as %q", line, seen[i], v)
			}
			i++
		}
	})
}

// BenchmarkAnalyze is the proxy's cost per statement before it relays
// one: SQL naming no protected table (pgbench's default script) is only
// searched for the tables' names; SQL naming one is parsed and planned,
// once if it has parameters only, every time if it has a literal to
// encrypt.
func BenchmarkAnalyze(b *testing.B) {
	r := testRules(b)
	for name, sql := range map[string]string{
		"unprotected": "UPDATE pgbench_accounts SET abalance = abalance + -4213 WHERE aid = 804213;",
		"parameters":  "SELECT id, phone, name FROM customers WHERE phone = $1",
		"literal":     "SELECT id, phone, name FROM customers WHERE phone = '13800000001'",
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.analyze(sql, tagged); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestContainsFold(t *testing.T) {
	for _, c := range []struct {
		s, sub string
		want   bool
	}{
		{"UPDATE CUSTOMERS SET x = 1", "customers", true},
		{"select * from CuStOmErS", "customers", true},
		{"select * from customer", "customers", false},
		{"select 1", "", true},
		{"", "u&", false},
		{`INSERT INTO U&"\0063ustomers"`, "u&", true},
		{"select [ from t", "{", false}, // '[' and '{' differ by 0x20 but are not letters
		{"select * from bäder", "bäder", true},
		{"select * from BÄDER", "bäder", false}, // PostgreSQL does not fold non-ASCII letters
	} {
		if got := containsFold(c.s, c.sub); got != c.want {
			t.Errorf("containsFold(%q, %q) = %v", c.s, c.sub, got)
		}
	}
}
