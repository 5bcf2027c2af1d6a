// Package console is mima's web console, served under /ui/ by the same
// binary: server-rendered pages (html/template) with a little vendored
// JavaScript (htmx, uPlot), all embedded. Every page acts through the API
// handler in this process with the signed-in user's own token, so it has
// exactly that token's rights and every call is authorised and audited as
// an API call is.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/compliance"
	"github.com/mimacrypto/mima/sdk"
)

//go:embed web
var web embed.FS

// csp allows only the console's own scripts, styles and requests: no
// inline script, no eval, no framing.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Console serves /ui/.
type Console struct {
	api      http.Handler
	sessions *sessions
	rules    compliance.Rules
	log      *slog.Logger
	mux      *http.ServeMux
	page     *template.Template
}

// Option configures a Console.
type Option func(*Console)

// WithClock sets the clock of session expiry (tests).
func WithClock(now func() time.Time) Option { return func(c *Console) { c.sessions.now = now } }

// WithIdleTimeout sets how long a session lives without a request.
func WithIdleTimeout(d time.Duration) Option { return func(c *Console) { c.sessions.idle = d } }

// WithRules sets the compliance checks the report page runs.
func WithRules(r compliance.Rules) Option { return func(c *Console) { c.rules = r } }

// WithLogger sets the logger for internal errors.
func WithLogger(l *slog.Logger) Option { return func(c *Console) { c.log = l } }

// New returns the console for the API handler api.
func New(api http.Handler, opts ...Option) (*Console, error) {
	rules, err := compliance.Level(3)
	if err != nil {
		return nil, err
	}
	c := &Console{api: api, rules: rules, log: slog.Default(), mux: http.NewServeMux(),
		sessions: &sessions{byID: map[string]*session{}, idle: DefaultIdle, now: time.Now}}
	for _, o := range opts {
		o(c)
	}
	c.page, err = template.New("page.html").Funcs(template.FuncMap{"t": translate}).ParseFS(web, "web/page.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	static, _ := fs.Sub(web, "web/static")
	c.mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	c.mux.HandleFunc("GET /ui/{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/status", http.StatusSeeOther) })
	c.mux.HandleFunc("GET /ui/login", c.loginForm)
	c.mux.HandleFunc("POST /ui/login", c.login)
	c.mux.HandleFunc("POST /ui/login/challenge", c.challenge)
	c.mux.HandleFunc("POST /ui/login/answer", c.answer)
	c.mux.HandleFunc("GET /ui/lang/{lang}", c.setLang)
	c.routes()
	return c, nil
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// req is one signed-in request as a page sees it.
type req struct {
	w    http.ResponseWriter
	r    *http.Request
	id   string // session id
	sess session
	api  *sdk.Client
	lang string
	// handler is the API handler, for paths the sdk has no method for.
	handler http.Handler
}

// ctx is the request's context.
func (q *req) ctx() context.Context { return q.r.Context() }

// getJSON reads an API path the sdk has no method for.
func (q *req) getJSON(path string, out any) error {
	hreq, err := http.NewRequestWithContext(q.ctx(), http.MethodGet, "http://console"+path, nil)
	if err != nil {
		return err
	}
	hreq.Header.Set("Authorization", "Bearer "+q.sess.token)
	if q.sess.root {
		hreq.Header.Set("X-Mima-Tenant", q.sess.tenant)
	}
	resp, err := inProcess{api: q.handler, remote: q.r.RemoteAddr}.RoundTrip(hreq)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error sdk.APIError `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		e.Error.Status = resp.StatusCode
		return &e.Error
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// page is a handler of a signed-in page; it returns the sections to show.
type page func(q *req) ([]section, error)

// handle registers a signed-in page or action. Every POST must carry the
// session's CSRF token.
func (c *Console) handle(pattern string, title string, p page) {
	c.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		q, ok := c.signedIn(w, r)
		if !ok {
			return
		}
		if r.Method == http.MethodPost && !sameSecret(r.PostFormValue("csrf"), q.sess.csrf) {
			c.render(w, q, http.StatusForbidden, view{Title: "Forbidden", Error: translate(q.lang, "The form has expired or did not come from this console; reload the page and try again.")})
			return
		}
		secs, err := p(q)
		var redirect redirectTo
		switch {
		case errors.As(err, &redirect):
			http.Redirect(w, r, string(redirect), http.StatusSeeOther)
			return
		case err != nil:
			c.render(w, q, statusOf(err), view{Title: title, Error: errorText(q.lang, err), Sections: secs})
			return
		}
		c.render(w, q, http.StatusOK, view{Title: title, Flash: r.URL.Query().Get("done"), Sections: secs})
	})
}

// redirectTo is returned by an action to send the browser to a page.
type redirectTo string

func (r redirectTo) Error() string { return "redirect to " + string(r) }

// done redirects to path with a message naming what was done.
func done(path, what string) error {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return redirectTo(path + sep + "done=" + url.QueryEscape(what))
}

// statusOf is the HTTP status of a page that failed with err.
func statusOf(err error) int {
	var e *sdk.APIError
	if errors.As(err, &e) && e.Status != 0 {
		return e.Status
	}
	return http.StatusInternalServerError
}

// errorText shows an error to the user: the API's code and message, which
// never hold secrets.
func errorText(lang string, err error) string {
	var e *sdk.APIError
	if errors.As(err, &e) && e.RequestID != "" {
		return fmt.Sprintf("%s: %s (%s %s)", e.Code, e.Message, translate(lang, "request"), e.RequestID)
	}
	if errors.As(err, &e) {
		return e.Code + ": " + e.Message
	}
	return err.Error()
}

// signedIn finds the request's session; without one it sends the browser
// to the login page.
func (c *Console) signedIn(w http.ResponseWriter, r *http.Request) (*req, bool) {
	lang := language(r)
	ck, err := r.Cookie(cookieName)
	var sess session
	ok := err == nil
	if ok {
		sess, ok = c.sessions.get(ck.Value)
	}
	if !ok {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		} else {
			c.render(w, &req{lang: lang}, http.StatusUnauthorized, view{Title: "Sign in", Error: translate(lang, "Your session has ended; sign in again.")})
		}
		return nil, false
	}
	q := &req{w: w, r: r, id: ck.Value, sess: sess, lang: lang, handler: c.api}
	opts := []sdk.Option{sdk.WithToken(sess.token), sdk.WithHTTPClient(&http.Client{Transport: inProcess{api: c.api, remote: r.RemoteAddr}})}
	if sess.root {
		opts = append(opts, sdk.WithTenant(sess.tenant))
	}
	q.api, _ = sdk.New("http://console", opts...)
	return q, true
}
