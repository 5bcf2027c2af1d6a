package console

import (
	"net/http"

	"github.com/mimacrypto/mima/sdk"
)

// loginForm asks for a token. Its CSRF value lives in a short cookie
// until a session exists.
func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	c.showLogin(w, r, http.StatusOK, "")
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	pre := randomString()
	setCookie(w, r, preCookie, pre, 600)
	lang := language(r)
	next := r.FormValue("next")
	if !localPath(next) {
		next = "/ui/status"
	}
	c.render(w, &req{lang: lang}, status, view{Title: "Sign in", Error: msg, Sections: []section{{
		Note: "Sign in with a mima token. The console acts with this token's rights only.",
		Form: &form{Action: "/ui/login", Method: "POST", Submit: "Sign in", Fields: []field{
			{Name: "token", Label: "Token", Type: "password"},
			{Name: "next", Type: "hidden", Value: next},
			{Name: "csrf", Type: "hidden", Value: pre},
		}},
	}}})
}

// login checks the token against the API (GET /v1/tokens/self, audited
// like any call) and starts a session holding it.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	pre, err := r.Cookie(preCookie)
	if err != nil || !sameSecret(r.PostFormValue("csrf"), pre.Value) {
		c.showLogin(w, r, http.StatusForbidden, translate(language(r), "The form has expired or did not come from this console; reload the page and try again."))
		return
	}
	token := r.PostFormValue("token")
	client, _ := sdk.New("http://console", sdk.WithToken(token), sdk.WithHTTPClient(&http.Client{Transport: inProcess{api: c.api, remote: r.RemoteAddr}}))
	self, err := client.Auth().LookupSelf(r.Context())
	if err != nil || token == "" {
		c.showLogin(w, r, http.StatusUnauthorized, translate(language(r), "The token was not accepted."))
		return
	}
	tenant := self.Tenant
	if self.Root {
		tenant = "default"
	}
	setCookie(w, r, preCookie, "", -1)
	setCookie(w, r, cookieName, c.sessions.start(token, tenant, self.Root), 0)
	next := r.PostFormValue("next")
	if !localPath(next) {
		next = "/ui/status"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(q *req) ([]section, error) {
	c.sessions.end(q.id)
	setCookie(q.w, q.r, cookieName, "", -1)
	return nil, redirectTo("/ui/login")
}
