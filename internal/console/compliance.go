package console

import (
	"net/http"
	"time"

	"github.com/mimacrypto/mima/internal/compliance"
)

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
