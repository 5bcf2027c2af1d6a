package console

import (
	"net/http"
	"strconv"
	"time"

	"github.com/mimacrypto/mima/internal/compliance"
	"github.com/mimacrypto/mima/sdk"
)

// auditPage searches the acting tenant's audit log with the user's token
// (GET /v1/audit/records, so a tenant admin finds its own records only)
// and, for root, shows the chain's verification and last checkpoint.
func auditPage(q *req) ([]section, error) {
	f := q.r.URL.Query()
	search := &form{Action: "/ui/audit", Method: "GET", Submit: "Search"}
	for _, name := range []string{"from", "to", "operation", "object", "status"} {
		search.Fields = append(search.Fields, field{Name: name, Label: auditLabels[name], Type: "text", Value: f.Get(name)})
	}
	secs := []section{{Title: "Search the audit log", Note: "Times are RFC 3339 (2026-03-01T10:00:00Z); status is a code (404) or a class (4xx).", Form: search}}
	aq := sdk.AuditQuery{Operation: f.Get("operation"), Object: f.Get("object"), Status: f.Get("status"), After: f.Get("after"), Limit: 50}
	for name, t := range map[string]*time.Time{"from": &aq.From, "to": &aq.To} {
		if s := f.Get(name); s != "" {
			var err error
			if *t, err = time.Parse(time.RFC3339, s); err != nil {
				return secs, &sdk.APIError{Status: http.StatusBadRequest, Code: "invalid_argument", Message: name + " must be an RFC 3339 time"}
			}
		}
	}
	page, err := q.api.Sys().SearchAudit(q.ctx(), aq)
	if err != nil {
		return secs, err
	}
	t := &table{Head: []string{"Seq", "Time", "Operation", "Object", "Status", "Accessor", "Request"}}
	for _, r := range page.Items {
		t.Rows = append(t.Rows, []cell{{Text: strconv.FormatUint(r.Seq, 10)}, {Text: r.Time.UTC().Format(time.RFC3339)}, {Text: r.Operation},
			{Text: r.Object}, {Text: recordStatus(r)}, {Text: r.Accessor}, {Text: r.RequestID}})
	}
	secs = append(secs, section{Title: "Records", Note: "The records of the tenant named in the header.", Table: t})
	if page.Next != "" {
		f.Set("after", page.Next)
		secs = append(secs, section{Table: &table{Rows: [][]cell{{{Text: "Next page", Href: "/ui/audit?" + f.Encode()}}}}})
	}
	if !q.sess.root {
		return secs, nil
	}
	rep, err := q.api.Sys().VerifyAudit(q.ctx())
	if err != nil {
		return secs, err
	}
	status := compliance.Fail
	if rep.OK {
		status = compliance.Pass
	}
	return append([]section{{Title: "Chain verification", Table: &table{Head: []string{"Item", "Value"}, Narrow: true, Rows: [][]cell{
		{{Text: "Verified"}, {Text: strconv.FormatBool(rep.OK), Status: status}},
		{{Text: "Records"}, {Text: strconv.FormatUint(rep.Records, 10)}},
		{{Text: "Last checkpoint"}, {Text: strconv.FormatUint(rep.LastCheckpointSeq, 10) + " · " + when(rep.LastCheckpointTime)}},
		{{Text: "Records after it"}, {Text: strconv.FormatUint(rep.AfterCheckpoint, 10)}},
		{{Text: "Witnessed checkpoint"}, {Text: strconv.FormatUint(rep.ExternalCheckpointSeq, 10)}},
	}}}}, secs...), nil
}

// auditLabels label the search fields.
var auditLabels = map[string]string{"from": "From", "to": "To", "operation": "Operation", "object": "Object", "status": "Status"}

// recordStatus shows a record's outcome: a request is recorded as
// accepted before it acts, and its HTTP status and error code after.
func recordStatus(r sdk.AuditRecord) string {
	if r.Status == 0 {
		return "accepted"
	}
	if r.Code != "" {
		return strconv.Itoa(r.Status) + " " + r.Code
	}
	return strconv.Itoa(r.Status)
}
