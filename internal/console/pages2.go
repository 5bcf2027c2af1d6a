package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/compliance"
	"github.com/mimacrypto/mima/sdk"
)

// auditFilters are the query parameters of GET /v1/audit/records.
var auditFilters = []string{"from", "to", "tenant", "op", "object", "status"}

// auditPage searches the audit log (GET /v1/audit/records, paged as
// {"items","next"}) and shows the chain's verification and last
// checkpoint.
func auditPage(q *req) ([]section, error) {
	f := q.r.URL.Query()
	search := &form{Action: "/ui/audit", Method: "GET", Submit: "Search"}
	v := url.Values{}
	for _, name := range auditFilters {
		search.Fields = append(search.Fields, field{Name: name, Label: name, Type: "text", Value: f.Get(name)})
		if val := f.Get(name); val != "" {
			v.Set(name, val)
		}
	}
	if after := f.Get("after"); after != "" {
		v.Set("after", after)
	}
	secs := []section{{Title: "Search the audit log", Note: "Times are RFC 3339 (2026-03-01T10:00:00Z).", Form: search}}
	var page struct {
		Items []audit.Record `json:"items"`
		Next  string         `json:"next"`
	}
	err := q.getJSON("/v1/audit/records?"+v.Encode(), &page)
	switch {
	case sdk.ErrorCode(err) == "route_not_found":
		secs = append(secs, section{Title: "Records", Note: "This server has no audit search; use mima audit export."})
	case err != nil:
		return secs, err
	default:
		t := &table{Head: []string{"Seq", "Time", "Tenant", "Operation", "Object", "Status", "Request"}}
		for _, r := range page.Items {
			t.Rows = append(t.Rows, []cell{{Text: strconv.FormatUint(r.Seq, 10)}, {Text: r.Time}, {Text: r.Tenant}, {Text: r.Operation},
				{Text: r.Object}, {Text: strconv.Itoa(r.Status) + " " + r.Code}, {Text: r.RequestID}})
		}
		secs = append(secs, section{Title: "Records", Table: t})
		if page.Next != "" {
			f.Set("after", page.Next)
			secs = append(secs, section{Table: &table{Rows: [][]cell{{{Text: "Next page", Href: "/ui/audit?" + f.Encode()}}}}})
		}
	}
	if q.sess.root {
		rep, err := q.api.VerifyAudit(q.ctx())
		if err != nil {
			return secs, err
		}
		status := compliance.Fail
		if rep.OK {
			status = compliance.Pass
		}
		secs = append([]section{{Title: "Chain verification", Table: &table{Head: []string{"Item", "Value"}, Rows: [][]cell{
			{{Text: "Verified"}, {Text: strconv.FormatBool(rep.OK), Status: status}},
			{{Text: "Records"}, {Text: strconv.FormatUint(rep.Records, 10)}},
			{{Text: "Last checkpoint"}, {Text: strconv.FormatUint(rep.LastCheckpointSeq, 10) + " · " + when(rep.LastCheckpointTime)}},
			{{Text: "Records after it"}, {Text: strconv.FormatUint(rep.AfterCheckpoint, 10)}},
			{{Text: "Witnessed checkpoint"}, {Text: strconv.FormatUint(rep.ExternalCheckpointSeq, 10)}},
		}}}}, secs...)
	}
	return secs, nil
}

func usagePage(q *req) ([]section, error) {
	secs := []section{
		{Title: "Calls by operation", Chart: &chart{Src: "/ui/usage.json?by=operation", Label: "Calls per minute"}},
		{Title: "Calls by key", Chart: &chart{Src: "/ui/usage.json?by=key", Label: "Calls per minute"}},
	}
	if q.sess.root {
		secs = append(secs, section{Title: "Calls by tenant", Chart: &chart{Src: "/ui/usage.json?by=tenant", Label: "Calls per minute"}})
	}
	u, err := q.api.Usage(q.ctx(), sdk.UsageQuery{By: "operation"})
	if err != nil {
		return secs, err
	}
	t := &table{Head: []string{"Operation", "Calls", "Errors", "p99 (ms)"}}
	for _, s := range u.Series {
		var p99 float64
		for _, p := range s.Points {
			p99 = max(p99, p.P99)
		}
		t.Rows = append(t.Rows, []cell{{Text: s.Name}, {Text: strconv.FormatUint(s.Count, 10)}, {Text: strconv.FormatUint(s.Errors, 10)}, {Text: strconv.FormatFloat(p99, 'g', -1, 64)}})
	}
	return append(secs, section{Title: "The last hour", Table: t}), nil
}

// usageJSON feeds the charts: the user's GET /v1/usage, optionally one
// series only.
func (c *Console) usageJSON(w http.ResponseWriter, r *http.Request) {
	q, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	u, err := q.api.Usage(q.ctx(), sdk.UsageQuery{By: r.URL.Query().Get("by"), From: time.Now().Add(-time.Hour)})
	if err != nil {
		writeJSON(w, statusOf(err), map[string]string{"error": errorText(q.lang, err)})
		return
	}
	if only := r.URL.Query().Get("only"); only != "" {
		kept := u.Series[:0]
		for _, s := range u.Series {
			if s.Name == only {
				kept = append(kept, s)
			}
		}
		u.Series = kept
	}
	writeJSON(w, http.StatusOK, u)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// report gathers the compliance facts with the user's token.
func (c *Console) report(q *req) (compliance.Report, error) {
	now := time.Now()
	facts, err := compliance.Gather(q.ctx(), q.api, q.r.TLS != nil, now)
	if err != nil {
		return compliance.Report{}, err
	}
	return compliance.Evaluate(c.rules, q.sess.tenant, now, facts), nil
}

func (c *Console) compliancePage(q *req) ([]section, error) {
	rep, err := c.report(q)
	if err != nil {
		return nil, err
	}
	t := &table{Head: []string{"Check", "Area", "Status", "Evidence", "Fix"}}
	for _, ch := range rep.Checks {
		title := ch.Title
		if q.lang == "zh" && ch.TitleZH != "" {
			title = ch.TitleZH
		}
		t.Rows = append(t.Rows, []cell{{Text: title}, {Text: ch.Area}, {Text: ch.Status, Status: ch.Status}, {Text: ch.Evidence}, {Text: ch.Fix, Href: ch.Fix}})
	}
	return []section{{Title: "GB/T 39786-2021 level 3", Note: "Evidence drawn from the live system with your token; checks it cannot see are n/a. Print this page to PDF for the assessor.",
		Table: t}, {Table: &table{Rows: [][]cell{{{Text: "Download as JSON", Href: "/ui/compliance.json"}}}}}}, nil
}

func (c *Console) complianceJSON(w http.ResponseWriter, r *http.Request) {
	q, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	rep, err := c.report(q)
	if err != nil {
		writeJSON(w, statusOf(err), map[string]string{"error": errorText(q.lang, err)})
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="compliance.json"`)
	writeJSON(w, http.StatusOK, rep)
}

func v2xPage(q *req) ([]section, error) {
	names, err := q.api.V2XDeployments(q.ctx())
	if err != nil {
		return nil, err
	}
	t := &table{Head: []string{"Deployment", "Profile", "Period", "Certificates per period", "Created"}}
	for _, n := range names {
		d, err := q.api.V2XDeployment(q.ctx(), n)
		if err != nil {
			return nil, err
		}
		t.Rows = append(t.Rows, []cell{{Text: d.Name}, {Text: d.Profile}, {Text: d.Period}, {Text: strconv.Itoa(d.CertsPerPeriod)}, {Text: when(d.Created)}})
	}
	return []section{{Title: "V2X deployments", Table: t}}, nil
}
