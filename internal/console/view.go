package console

import (
	"bytes"
	"net/http"
	"strings"
	"time"
)

// view is one rendered page.
type view struct {
	Title    string
	Lang     string
	Nav      []navItem
	CSRF     string
	Root     bool
	Tenant   string
	Flash    string
	Error    string
	Sections []section
}

type navItem struct{ Path, Label string }

// section is one block of a page: a table, a form, a chart or text.
type section struct {
	Title string
	Note  string
	Table *table
	Form  *form
	Chart *chart
	Pre   string
}

type table struct {
	Head []string
	Rows [][]cell
	// Narrow tables (item and value) are as wide as their content.
	Narrow bool
}

// cell is a table cell: text, perhaps a link, perhaps action buttons
// (each a POST form with the CSRF token), perhaps a status badge.
type cell struct {
	Text    string
	Href    string
	Status  string // pass, fail or n/a: shown as a badge
	Actions []action
}

type action struct{ URL, Label string }

type form struct {
	Action string
	Method string // GET for searches; POST carries the CSRF token
	Submit string
	Fields []field
}

type field struct {
	Name, Label, Type, Value string
	Options                  []string
	Rows                     int // textarea rows
}

// chart is a uPlot chart that app.js fills from Src (JSON of /v1/usage).
type chart struct {
	Src   string
	Label string
}

// nav is the menu; root sees the system pages too.
func nav(root bool) []navItem {
	items := []navItem{{"/ui/status", "Status"}}
	if root {
		items = append(items, navItem{"/ui/tenants", "Tenants"})
	}
	items = append(items, navItem{"/ui/keys", "Keys"}, navItem{"/ui/certs", "Certificates"}, navItem{"/ui/tsas", "TSAs"},
		navItem{"/ui/tokens", "Tokens"}, navItem{"/ui/policies", "Policies"}, navItem{"/ui/audit", "Audit"},
		navItem{"/ui/usage", "Usage"}, navItem{"/ui/compliance", "Compliance"})
	if root {
		items = append(items, navItem{"/ui/v2x", "V2X"}, navItem{"/ui/devices", "Devices"})
	}
	return items
}

// render writes a page; an error while executing the template is logged
// and answered with a plain 500, never a half page.
func (c *Console) render(w http.ResponseWriter, q *req, status int, v view) {
	v.Lang = q.lang
	if q.id != "" {
		v.Nav, v.CSRF, v.Root, v.Tenant = nav(q.sess.root), q.sess.csrf, q.sess.root, q.sess.tenant
	}
	var buf bytes.Buffer
	if err := c.page.Execute(&buf, v); err != nil {
		c.log.Error("console: rendering a page failed", "page", v.Title, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// language is the page language: the "lang" cookie, else the browser's
// Accept-Language; Chinese or English.
func language(r *http.Request) string {
	if ck, err := r.Cookie("lang"); err == nil && (ck.Value == "zh" || ck.Value == "en") {
		return ck.Value
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(tag, "zh"):
			return "zh"
		case strings.HasPrefix(tag, "en"):
			return "en"
		}
	}
	return "en"
}

// setLang switches the language and returns to the page the user was on.
func (c *Console) setLang(w http.ResponseWriter, r *http.Request) {
	lang := r.PathValue("lang")
	if lang != "zh" && lang != "en" {
		http.Error(w, "unknown language", http.StatusNotFound)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: "lang", Value: lang, Path: "/ui/", MaxAge: 365 * 24 * 3600,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	back := r.URL.Query().Get("back")
	if !localPath(back) {
		back = "/ui/status"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// localPath reports whether p is a console path, safe to redirect to.
func localPath(p string) bool {
	return strings.HasPrefix(p, "/ui/") && !strings.HasPrefix(p, "//") && !strings.ContainsAny(p, "\\\r\n")
}

// kv is a narrow table of items and their values; an empty value shows
// as a dash.
func kv(rows ...[2]string) *table {
	t := &table{Head: []string{"Item", "Value"}, Narrow: true}
	for _, r := range rows {
		if r[1] == "" {
			r[1] = "—"
		}
		t.Rows = append(t.Rows, []cell{{Text: r[0]}, {Text: r[1]}})
	}
	return t
}

// when shows a time in UTC to the minute; the zero time is a dash.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
