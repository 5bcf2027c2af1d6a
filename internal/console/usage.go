package console

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/mimacrypto/mima/sdk"
)

func usagePage(q *req) ([]section, error) {
	secs := []section{
		{Title: "Calls by operation", Chart: &chart{Src: "/ui/usage.json?by=operation", Label: "Calls per minute"}},
		{Title: "Calls by key", Chart: &chart{Src: "/ui/usage.json?by=key", Label: "Calls per minute"}},
	}
	if q.sess.root {
		secs = append(secs, section{Title: "Calls by tenant", Chart: &chart{Src: "/ui/usage.json?by=tenant", Label: "Calls per minute"}})
	}
	u, err := q.api.Sys().Usage(q.ctx(), sdk.UsageQuery{By: "operation"})
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
	u, err := q.api.Sys().Usage(q.ctx(), sdk.UsageQuery{By: r.URL.Query().Get("by"), From: time.Now().Add(-time.Hour)})
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
