package console

import (
	"net/url"
	"strconv"

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
