// Package compliance reports how a mima deployment meets GB/T 39786-2021:
// checks, kept as data (a YAML file per level), compare facts gathered
// from the live system through the API with what the level expects. The
// facts are gathered with the caller's token, so the report shows only
// what that token may see; the rest is n/a.
package compliance

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"go.yaml.in/yaml/v3"
)

//go:embed rules/*.yaml
var builtin embed.FS

// Statuses of a check.
const (
	Pass = "pass"
	Fail = "fail"
	NA   = "n/a"
)

// Rules are the checks of one level.
type Rules struct {
	Level  int    `yaml:"level"`
	Checks []Rule `yaml:"checks"`
}

// Rule is one check: fact compared with Eq, Max or Min (exactly one).
type Rule struct {
	ID      string   `yaml:"id"`
	Area    string   `yaml:"area"`
	Title   string   `yaml:"title"`
	TitleZH string   `yaml:"title_zh"`
	Fact    string   `yaml:"fact"`
	Eq      any      `yaml:"eq"`
	Max     *float64 `yaml:"max"`
	Min     *float64 `yaml:"min"`
	Fix     string   `yaml:"fix"`
}

// Level returns the built-in checks of a level.
func Level(level int) (Rules, error) {
	b, err := fs.ReadFile(builtin, fmt.Sprintf("rules/level%d.yaml", level))
	if err != nil {
		return Rules{}, fmt.Errorf("compliance: no built-in checks for level %d", level)
	}
	return Parse(b)
}

// Parse reads checks from YAML, refusing unknown fields and checks
// without exactly one expectation.
func Parse(b []byte) (Rules, error) {
	var r Rules
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		return Rules{}, fmt.Errorf("compliance: reading checks: %w", err)
	}
	for _, c := range r.Checks {
		n := 0
		for _, set := range []bool{c.Eq != nil, c.Max != nil, c.Min != nil} {
			if set {
				n++
			}
		}
		if c.ID == "" || c.Fact == "" || n != 1 {
			return Rules{}, fmt.Errorf("compliance: check %q needs an id, a fact and exactly one of eq, max, min", c.ID)
		}
	}
	return r, nil
}

// Add appends other's checks to r.
func (r Rules) Add(other Rules) Rules {
	r.Checks = append(append([]Rule(nil), r.Checks...), other.Checks...)
	return r
}

// Report is the outcome of every check. Its JSON is the interface that
// scripts rely on: {"level":3,"checks":[{"id","title","status","evidence"}]}.
type Report struct {
	Level       int       `json:"level"`
	Tenant      string    `json:"tenant"`
	GeneratedAt time.Time `json:"generated_at"`
	Checks      []Check   `json:"checks"`
}

// Check is the outcome of one rule.
type Check struct {
	ID       string `json:"id"`
	Area     string `json:"area,omitempty"`
	Title    string `json:"title"`
	TitleZH  string `json:"title_zh,omitempty"`
	Status   string `json:"status"`
	Evidence string `json:"evidence"`
	Fix      string `json:"fix,omitempty"`
}

// Evaluate checks facts against r.
func Evaluate(r Rules, tenant string, at time.Time, facts Facts) Report {
	rep := Report{Level: r.Level, Tenant: tenant, GeneratedAt: at, Checks: make([]Check, 0, len(r.Checks))}
	for _, rule := range r.Checks {
		c := Check{ID: rule.ID, Area: rule.Area, Title: rule.Title, TitleZH: rule.TitleZH, Fix: rule.Fix}
		f, ok := facts[rule.Fact]
		switch {
		case !ok:
			c.Status, c.Evidence = NA, "fact "+rule.Fact+" is not gathered"
		case f.Missing != "":
			c.Status, c.Evidence = NA, f.Missing
		default:
			c.Evidence = f.Evidence
			c.Status = Fail
			if rule.holds(f.Value) {
				c.Status = Pass
			}
		}
		rep.Checks = append(rep.Checks, c)
	}
	return rep
}

// holds reports whether v meets the rule's expectation.
func (r Rule) holds(v any) bool {
	if r.Eq != nil {
		return fmt.Sprint(r.Eq) == fmt.Sprint(v)
	}
	n, ok := number(v)
	if !ok {
		return false
	}
	if r.Max != nil {
		return n <= *r.Max
	}
	return n >= *r.Min
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}
