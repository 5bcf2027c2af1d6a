package compliance

import (
	"testing"
	"time"
)

func TestLevel3Loads(t *testing.T) {
	r, err := Level(3)
	if err != nil {
		t.Fatal(err)
	}
	if r.Level != 3 || len(r.Checks) < 10 {
		t.Fatalf("level 3: %+v", r)
	}
	for _, c := range r.Checks {
		if c.Title == "" || c.TitleZH == "" || c.Fix == "" {
			t.Errorf("check %s lacks a title, a Chinese title or a fix page", c.ID)
		}
	}
	if _, err := Level(9); err == nil {
		t.Fatal("level 9 has no checks but loaded")
	}
}

func TestParseRefusesAmbiguousChecks(t *testing.T) {
	for name, doc := range map[string]string{
		"two expectations": "level: 3\nchecks:\n  - {id: x, fact: f, max: 1, min: 0}\n",
		"no expectation":   "level: 3\nchecks:\n  - {id: x, fact: f}\n",
		"no fact":          "level: 3\nchecks:\n  - {id: x, eq: true}\n",
		"unknown field":    "level: 3\nchecks:\n  - {id: x, fact: f, eq: true, severity: high}\n",
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestEvaluate(t *testing.T) {
	r, err := Parse([]byte(`level: 3
checks:
  - {id: zero, fact: keys.non_sm, max: 0}
  - {id: floor, fact: root.threshold, min: 2}
  - {id: flag, fact: audit.ok, eq: true}
  - {id: hidden, fact: audit.witnessed, eq: true}
  - {id: unknown, fact: no.such.fact, eq: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	extra, err := Parse([]byte("level: 3\nchecks:\n  - {id: own, fact: keys.non_sm, min: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	facts := Facts{
		"keys.non_sm":     {Value: 1, Evidence: "1 of 2 keys"},
		"root.threshold":  {Value: 3},
		"audit.ok":        {Value: true},
		"audit.witnessed": {Missing: "not visible to this token (permission_denied)"},
	}
	rep := Evaluate(r.Add(extra), "t", time.Unix(0, 0), facts)
	want := map[string]string{"zero": Fail, "floor": Pass, "flag": Pass, "hidden": NA, "unknown": NA, "own": Pass}
	if len(rep.Checks) != len(want) {
		t.Fatalf("checks: %+v", rep.Checks)
	}
	for _, c := range rep.Checks {
		if c.Status != want[c.ID] {
			t.Errorf("%s: %s (%s), want %s", c.ID, c.Status, c.Evidence, want[c.ID])
		}
	}
	if rep.Checks[0].Evidence != "1 of 2 keys" {
		t.Errorf("evidence: %q", rep.Checks[0].Evidence)
	}
}
