package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// DefaultIdle is how long a session lives without a request.
const DefaultIdle = 15 * time.Minute

// cookieName names the session cookie; preCookie holds the login form's
// CSRF value before a session exists.
const (
	cookieName = "mima_session"
	preCookie  = "mima_login"
)

// session is one signed-in browser. It holds the user's own token: the
// console acts with it and nothing else.
type session struct {
	token    string
	tenant   string // the tenant a root token acts in
	root     bool
	csrf     string
	lastSeen time.Time
}

// sessions are kept in this node's memory: a restart or another node
// behind a load balancer without affinity signs the user out.
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	idle time.Duration
	now  func() time.Time
}

// randomString is 32 random bytes in URL-safe base64.
func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// start makes a session for token and returns its id.
func (s *sessions) start(token, tenant string, root bool) string {
	id := randomString()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, v := range s.byID {
		if now.Sub(v.lastSeen) > s.idle {
			delete(s.byID, k)
		}
	}
	s.byID[id] = &session{token: token, tenant: tenant, root: root, csrf: randomString(), lastSeen: now}
	return id
}

// get returns a copy of the live session id names and marks it used; an
// idle session is ended.
func (s *sessions) get(id string) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byID[id]
	if !ok {
		return session{}, false
	}
	now := s.now()
	if now.Sub(sess.lastSeen) > s.idle {
		delete(s.byID, id)
		return session{}, false
	}
	sess.lastSeen = now
	return *sess, true
}

// setTenant changes the tenant a root session acts in.
func (s *sessions) setTenant(id, tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.byID[id]; ok && sess.root {
		sess.tenant = tenant
	}
}

func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// setCookie writes a cookie scoped to the console: HttpOnly,
// SameSite=Strict, and Secure whenever the request came over TLS or TLCP.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/ui/", MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// sameSecret compares two secrets in constant time; empty never matches.
func sameSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
