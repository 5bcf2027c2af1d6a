package console

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/mimacrypto/mima/sdk"
)

// loginForm asks for a token, or a tenant to answer a login challenge
// in. Its CSRF value lives in a short cookie until a session exists.
func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	c.showLogin(w, r, http.StatusOK, "", nil)
}

// loginKinds are the challenge logins: a certificate's SM2 key (a USB
// key) or an SM9 identity.
var loginKinds = []string{"certificate", "sm9"}

// showLogin renders the login page with msg as its error; secs replaces
// the challenge form (the answer step).
func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, msg string, secs []section) {
	pre := randomString()
	setCookie(w, r, preCookie, pre, 600)
	next := nextPath(r)
	hidden := []field{{Name: "next", Type: "hidden", Value: next}, {Name: "csrf", Type: "hidden", Value: pre}}
	if secs == nil {
		secs = []section{{Title: "Sign in with a certificate or SM9 identity", Note: "Ask for a challenge, sign it with your USB key or SM9 key, and paste the signature.",
			Form: &form{Action: "/ui/login/challenge", Method: "POST", Submit: "Get a challenge", Fields: []field{
				{Name: "tenant", Label: "Tenant", Type: "text", Value: r.PostFormValue("tenant")},
				{Name: "kind", Label: "Sign with", Type: "select", Value: r.PostFormValue("kind"), Options: loginKinds},
			}}}}
	}
	for _, s := range secs {
		if s.Form != nil {
			s.Form.Fields = append(s.Form.Fields, hidden...)
		}
	}
	c.render(w, &req{lang: language(r)}, status, view{Title: "Sign in", Error: msg, Sections: append([]section{{
		Note: "Sign in with a mima token. The console acts with this token's rights only.",
		Form: &form{Action: "/ui/login", Method: "POST", Submit: "Sign in", Fields: append([]field{
			{Name: "token", Label: "Token", Type: "password"}}, hidden...)},
	}}, secs...)})
}

// nextPath is the console page to go to after signing in.
func nextPath(r *http.Request) string {
	if next := r.FormValue("next"); localPath(next) {
		return next
	}
	return "/ui/status"
}

// preChecked reports whether a login form carries the CSRF value of its
// cookie; if not, it shows the login page again.
func (c *Console) preChecked(w http.ResponseWriter, r *http.Request) bool {
	pre, err := r.Cookie(preCookie)
	if err != nil || !sameSecret(r.PostFormValue("csrf"), pre.Value) {
		c.showLogin(w, r, http.StatusForbidden, translate(language(r), "The form has expired or did not come from this console; reload the page and try again."), nil)
		return false
	}
	return true
}

// login checks the token against the API and starts a session holding it.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if c.preChecked(w, r) && !c.startSession(w, r, r.PostFormValue("token")) {
		c.showLogin(w, r, http.StatusUnauthorized, translate(language(r), "The token was not accepted."), nil)
	}
}

// startSession looks the token up (GET /v1/tokens/self, audited like any
// call), starts a session holding it and sends the browser on; it
// reports false, writing nothing, if the API refuses the token.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, token string) bool {
	self, err := c.anonymous(r, token).Auth().LookupSelf(r.Context())
	if err != nil || token == "" {
		return false
	}
	tenant := self.Tenant
	if self.Root {
		tenant = "default"
	}
	setCookie(w, r, preCookie, "", -1)
	setCookie(w, r, cookieName, c.sessions.start(token, tenant, self.Root), 0)
	http.Redirect(w, r, nextPath(r), http.StatusSeeOther)
	return true
}

// anonymous is an API client for a browser without a session, with
// token if not empty.
func (c *Console) anonymous(r *http.Request, token string) *sdk.Client {
	opts := []sdk.Option{sdk.WithHTTPClient(&http.Client{Transport: inProcess{api: c.api, remote: r.RemoteAddr}})}
	if token != "" {
		opts = append(opts, sdk.WithToken(token))
	}
	client, _ := sdk.New("http://console", opts...)
	return client
}

// challenge asks the API for a login challenge of the tenant (POST
// /v1/auth/challenge) and shows its nonce, to be signed outside the
// browser, with the form that takes the signature.
func (c *Console) challenge(w http.ResponseWriter, r *http.Request) {
	if !c.preChecked(w, r) {
		return
	}
	tenant, kind := r.PostFormValue("tenant"), r.PostFormValue("kind")
	ch, err := c.anonymous(r, "").Auth().LoginChallenge(r.Context(), tenant)
	if err != nil {
		c.showLogin(w, r, statusOf(err), errorText(language(r), err), nil)
		return
	}
	fields := []field{{Name: "signature", Label: "Signature (base64 or hex)", Type: "textarea", Rows: 3}}
	how := "Sign the nonce's bytes with the SM2 key of your certificate (your USB key's tool, or mima sign), then paste the signature and the certificate."
	if kind == "sm9" {
		fields = append(fields, field{Name: "kgc", Label: "KGC (the signature master key)", Type: "text"}, field{Name: "id", Label: "Identity", Type: "text"})
		how = "Sign the nonce's bytes with your SM9 key: echo NONCE-HEX | xxd -r -p | mima sm9 device sign --key KEY --id ID; then paste the signature."
	} else {
		fields = append(fields, field{Name: "certificate", Label: "Certificate (PEM)", Type: "textarea", Rows: 8})
	}
	fields = append(fields, field{Name: "tenant", Type: "hidden", Value: tenant}, field{Name: "challenge_id", Type: "hidden", Value: ch.ID},
		field{Name: "kind", Type: "hidden", Value: kind})
	c.showLogin(w, r, http.StatusOK, "", []section{{Title: "Login challenge", Note: how,
		Table: kv([2]string{"Tenant", tenant}, [2]string{"Nonce (hex)", hex.EncodeToString(ch.Nonce)},
			[2]string{"Nonce (base64)", base64.StdEncoding.EncodeToString(ch.Nonce)}, [2]string{"Expires", when(ch.ExpiresAt)})},
		{Form: &form{Action: "/ui/login/answer", Method: "POST", Submit: "Sign in", Fields: fields}}})
}

// answer logs in with the pasted signature (POST /v1/auth/login) and
// starts a session with the token the tenant's login rule gives.
func (c *Console) answer(w http.ResponseWriter, r *http.Request) {
	if !c.preChecked(w, r) {
		return
	}
	f := r.PostForm
	sig, err := decodeSignature(f.Get("signature"))
	if err != nil {
		c.showLogin(w, r, http.StatusBadRequest, translate(language(r), "The signature is neither base64 nor hex."), nil)
		return
	}
	in := sdk.LoginRequest{Tenant: f.Get("tenant"), ChallengeID: f.Get("challenge_id"), Signature: sig}
	if f.Get("kind") == "sm9" {
		in.SM9 = &sdk.SM9Login{KGC: f.Get("kgc"), ID: f.Get("id")}
	} else {
		in.Certificate = f.Get("certificate")
	}
	res, err := c.anonymous(r, "").Auth().Login(r.Context(), in)
	if err != nil {
		c.showLogin(w, r, statusOf(err), errorText(language(r), err), nil)
		return
	}
	if !c.startSession(w, r, res.Token) {
		c.showLogin(w, r, http.StatusUnauthorized, translate(language(r), "The token was not accepted."), nil)
	}
}

// decodeSignature reads a pasted signature: hex (what USB-key tools
// print) or standard base64 (what mima prints). A DER signature starts
// with 0x30, "M" in base64, so the two never read alike.
func decodeSignature(s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	if s == "" {
		return nil, errors.New("empty signature")
	}
	if b, err := hex.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.StdEncoding.DecodeString(s)
}

func (c *Console) logout(q *req) ([]section, error) {
	c.sessions.end(q.id)
	setCookie(q.w, q.r, cookieName, "", -1)
	return nil, redirectTo("/ui/login")
}
