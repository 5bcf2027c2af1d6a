package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/mimacrypto/mima/internal/api"
	"github.com/mimacrypto/mima/sdk"
)

func policiesPage(q *req) ([]section, error) {
	names, err := q.api.Auth().ListPolicies(q.ctx())
	if err != nil {
		return nil, err
	}
	t := &table{Head: []string{"Policy"}}
	for _, n := range names {
		t.Rows = append(t.Rows, []cell{{Text: n, Href: "/ui/policies/" + url.PathEscape(n)}})
	}
	return []section{{Title: "Policies", Table: t}, {Title: "New policy", Form: &form{Action: "/ui/policies/new", Method: "GET", Submit: "Edit",
		Fields: []field{{Name: "name", Label: "Name", Type: "text"}}}}}, nil
}

// policyPage is the policy editor: the rules as JSON, and every operation
// with the objects the rules grant it on.
func policyPage(q *req) ([]section, error) {
	name := q.r.PathValue("name")
	if name == "new" {
		name = q.r.URL.Query().Get("name")
	}
	p, err := q.api.Auth().GetPolicy(q.ctx(), name)
	if errors.Is(err, sdk.ErrPolicyNotFound) || errors.Is(err, sdk.ErrNotFound) {
		p, err = sdk.Policy{Name: name, Rules: []sdk.Rule{}}, nil
	}
	if err != nil {
		return nil, err
	}
	return policyEditor(p), nil
}

func policyEditor(p sdk.Policy) []section {
	rules, _ := json.MarshalIndent(p.Rules, "", "  ")
	return []section{
		{Title: "Policy " + p.Name, Note: "Rules are JSON: [{\"operations\": [\"encrypt\"], \"objects\": [\"orders-*\"]}]; patterns are globs.",
			Form: &form{Action: "/ui/policies/" + url.PathEscape(p.Name), Method: "POST", Submit: "Save",
				Fields: []field{{Name: "rules", Label: "Rules", Type: "textarea", Value: string(rules), Rows: 12}}}},
		{Title: "What this policy grants", Table: grants(p.Rules)},
	}
}

// grants lists each operation a policy may name with the object patterns
// its rules grant it on (the glob syntax of the authn package).
func grants(rules []sdk.Rule) *table {
	t := &table{Head: []string{"Operation", "Objects"}}
	for _, op := range api.Operations() {
		var objs []string
		for _, r := range rules {
			for _, pat := range r.Operations {
				if ok, _ := path.Match(pat, op); ok {
					objs = append(objs, r.Objects...)
					break
				}
			}
		}
		if len(objs) > 0 {
			t.Rows = append(t.Rows, []cell{{Text: op}, {Text: strings.Join(objs, ", ")}})
		}
	}
	return t
}

func savePolicy(q *req) ([]section, error) {
	name := q.r.PathValue("name")
	var rules []sdk.Rule
	if err := json.Unmarshal([]byte(q.r.PostFormValue("rules")), &rules); err != nil {
		return policyEditor(sdk.Policy{Name: name}), &sdk.APIError{Status: http.StatusBadRequest, Code: "malformed_json", Message: "the rules are not valid JSON: " + err.Error()}
	}
	if _, err := q.api.Auth().PutPolicy(q.ctx(), name, rules); err != nil {
		return policyEditor(sdk.Policy{Name: name, Rules: rules}), err
	}
	return nil, done("/ui/policies/"+url.PathEscape(name), "saved")
}
