package console

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/api"
	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/barrier"
	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/internal/cms"
	"github.com/mimacrypto/mima/internal/compliance"
	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/device/pool"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/pki"
	"github.com/mimacrypto/mima/internal/sealstate"
	"github.com/mimacrypto/mima/internal/sm9"
	"github.com/mimacrypto/mima/internal/storage/inmem"
	"github.com/mimacrypto/mima/internal/v2x/scms"
	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/sdk/sm9dev"
)

// node is an unsealed API with the console in front of it.
type node struct {
	t     *testing.T
	ui    *Console
	api   *api.Server
	pool  *pool.Pool
	root  string
	clock *clocktest.Clock
}

func newNode(t *testing.T) *node {
	t.Helper()
	raw := inmem.New()
	b := barrier.New(raw)
	auth := authn.New(authn.WithOperations(api.Operations()))
	sink := audit.NewMemorySink(0)
	logger, err := audit.New(sink)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = logger.Close() })
	keys := sealstate.NewAuditKeys(logger)
	devs, err := pool.New([]pool.Member{{Name: "soft0", Type: "software", Device: device.NewSoftware()},
		{Name: "soft1", Type: "software", Device: device.NewSoftware()}})
	if err != nil {
		t.Fatal(err)
	}
	ks := kms.New(devs)
	ca := pki.New(ks)
	sigs := cms.New(ks, ca)
	v2x := scms.New(ks)
	kgc := sm9.New(ks, devs.Random())
	core := sealstate.New(raw, b, auth, sealstate.WithComponents(keys, ks, ca, sigs, v2x, kgc))
	chains := func(context.Context) (map[string]audit.Source, error) { return map[string]audit.Source{"": sink}, nil }
	srv := api.New(api.Services{Core: core, Auth: auth, Keys: ks, PKI: ca, CMS: sigs, V2X: v2x, SM9: kgc}, logger,
		api.WithAuditSource(api.AuditSource{Own: sink, Chains: chains, Options: func() audit.VerifyOptions {
			return audit.VerifyOptions{PublicKey: keys.PublicKey()}
		}}), api.WithDevices(devs))
	res, err := core.Init(context.Background(), 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.Unseal(context.Background(), res.Shares[0]); err != nil {
		t.Fatal(err)
	}
	clk := clocktest.New(time.Now())
	ui, err := New(srv, WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	return &node{t: t, ui: ui, api: srv, pool: devs, root: res.RootToken, clock: clk}
}

// tenant creates a tenant through the API and returns its admin token.
func (n *node) tenant(name string) string {
	n.t.Helper()
	c := n.client(n.root)
	res, err := c.Auth().CreateTenant(context.Background(), name)
	if err != nil {
		n.t.Fatal(err)
	}
	return res.Token
}

func (n *node) client(token string) *sdk.Client {
	c, _ := sdk.New("http://api", sdk.WithToken(token), sdk.WithHTTPClient(&http.Client{Transport: inProcess{api: n.api, remote: "192.0.2.1:1"}}))
	return c
}

// browser is one signed-in browser: its session cookie and CSRF token.
type browser struct {
	n      *node
	cookie *http.Cookie
	csrf   string
	useTLS bool
}

func (n *node) do(b *browser, method, path string, form url.Values) *httptest.ResponseRecorder {
	n.t.Helper()
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	if b != nil {
		if b.cookie != nil {
			r.AddCookie(b.cookie)
		}
		if b.useTLS {
			r.TLS = &tls.ConnectionState{}
		}
	}
	w := httptest.NewRecorder()
	n.ui.ServeHTTP(w, r)
	return w
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs in with token and returns the browser.
func (n *node) signIn(token string, useTLS bool) *browser {
	n.t.Helper()
	b := &browser{n: n, useTLS: useTLS}
	w := n.do(b, "GET", "/ui/login", nil)
	pre := cookieOf(w, preCookie)
	m := csrfField.FindStringSubmatch(w.Body.String())
	if pre == nil || m == nil {
		n.t.Fatalf("login form without its CSRF cookie or field: %s", w.Body)
	}
	b.cookie = pre
	w = n.do(b, "POST", "/ui/login", url.Values{"token": {token}, "csrf": {m[1]}})
	if w.Code != http.StatusSeeOther {
		n.t.Fatalf("sign in: %d %s", w.Code, w.Body)
	}
	b.cookie = cookieOf(w, cookieName)
	if b.cookie == nil {
		n.t.Fatal("no session cookie after sign in")
	}
	page := n.do(b, "GET", "/ui/status", nil)
	m = csrfField.FindStringSubmatch(page.Body.String())
	if m == nil {
		n.t.Fatalf("status page without a CSRF token: %d %s", page.Code, page.Body)
	}
	b.csrf = m[1]
	return b
}

func cookieOf(w *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// post sends a console form with the session's CSRF token.
func (b *browser) post(path string, form url.Values) *httptest.ResponseRecorder {
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.csrf)
	return b.n.do(b, "POST", path, form)
}

func (b *browser) get(path string) *httptest.ResponseRecorder { return b.n.do(b, "GET", path, nil) }

func TestEveryPageRenders(t *testing.T) {
	n := newNode(t)
	for _, who := range []struct {
		name  string
		token string
	}{{"root", n.root}, {"tenant admin", n.tenant("acme")}} {
		b := n.signIn(who.token, false)
		for _, item := range nav(who.token == n.root) {
			w := b.get(item.Path)
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "<h1>") {
				t.Errorf("%s: %s: %d %s", who.name, item.Path, w.Code, w.Body)
			}
		}
	}
}

func TestSecurityHeadersAndCookie(t *testing.T) {
	n := newNode(t)
	b := n.signIn(n.root, true)
	if !b.cookie.HttpOnly || !b.cookie.Secure || b.cookie.SameSite != http.SameSiteStrictMode || b.cookie.Path != "/ui/" {
		t.Fatalf("session cookie over TLS: %+v", b.cookie)
	}
	w := b.get("/ui/keys")
	pol := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(pol, want) {
			t.Errorf("CSP %q lacks %q", pol, want)
		}
	}
	if strings.Contains(pol, "unsafe") {
		t.Errorf("CSP allows unsafe sources: %q", pol)
	}
	if strings.Contains(w.Body.String(), "<script>") || regexp.MustCompile(`\son[a-z]+=`).MatchString(w.Body.String()) {
		t.Errorf("the page has inline script")
	}
	if plain := n.signIn(n.root, false); plain.cookie.Secure {
		t.Errorf("the development (plain HTTP) cookie is marked Secure and would never be sent back")
	}
}

// TestPostWithoutCSRFChangesNothing: a form posted without the session's
// CSRF token (a cross-site request riding the cookie) is refused, and
// the key it names is not created.
func TestPostWithoutCSRFChangesNothing(t *testing.T) {
	n := newNode(t)
	b := n.signIn(n.root, false)
	for _, csrf := range []string{"", "forged"} {
		w := n.do(b, "POST", "/ui/keys", url.Values{"name": {"k1"}, "type": {"sm4"}, "csrf": {csrf}})
		if w.Code != http.StatusForbidden {
			t.Fatalf("POST with CSRF %q: %d", csrf, w.Code)
		}
	}
	if _, err := n.client(n.root).Keys().Get(context.Background(), "k1"); !errors.Is(err, sdk.ErrKeyNotFound) {
		t.Fatalf("the key was created by a refused form: %v", err)
	}
	if w := b.post("/ui/keys", url.Values{"name": {"k1"}, "type": {"sm4"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("POST with the CSRF token: %d %s", w.Code, w.Body)
	}
	// Login itself needs the login form's token.
	for _, p := range []string{"/ui/login", "/ui/login/challenge", "/ui/login/answer"} {
		if w := n.do(nil, "POST", p, url.Values{"token": {n.root}, "tenant": {"default"}}); w.Code != http.StatusForbidden || cookieOf(w, cookieName) != nil {
			t.Fatalf("%s without the form's CSRF value: %d", p, w.Code)
		}
	}
}

func TestSessionExpiresWhenIdle(t *testing.T) {
	n := newNode(t)
	b := n.signIn(n.root, false)
	n.clock.Advance(DefaultIdle - time.Second)
	if w := b.get("/ui/keys"); w.Code != http.StatusOK {
		t.Fatalf("within the idle timeout: %d", w.Code)
	}
	n.clock.Advance(DefaultIdle + time.Second)
	if w := b.get("/ui/keys"); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/ui/login") {
		t.Fatalf("after the idle timeout: %d %s", w.Code, w.Header().Get("Location"))
	}
	if w := b.post("/ui/keys", url.Values{"name": {"late"}, "type": {"sm4"}}); w.Code != http.StatusUnauthorized {
		t.Fatalf("POST after the idle timeout: %d", w.Code)
	}
}

// TestTenantSeesOnlyItsTenant: the console acts with the user's token, so
// tenant B's pages never show tenant A's keys, and B cannot act on them.
func TestTenantSeesOnlyItsTenant(t *testing.T) {
	n := newNode(t)
	a, b := n.signIn(n.tenant("tenant-a"), false), n.signIn(n.tenant("tenant-b"), false)
	if w := a.post("/ui/keys", url.Values{"name": {"secret-key-a"}, "type": {"sm4"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("tenant A creates a key: %d %s", w.Code, w.Body)
	}
	if w := a.get("/ui/keys"); !strings.Contains(w.Body.String(), "secret-key-a") {
		t.Fatalf("tenant A's own key list: %s", w.Body)
	}
	for _, p := range []string{"/ui/keys", "/ui/usage", "/ui/usage.json?by=key", "/ui/compliance"} {
		if w := b.get(p); strings.Contains(w.Body.String(), "secret-key-a") {
			t.Errorf("tenant B's %s shows tenant A's key", p)
		}
	}
	if w := b.get("/ui/keys/secret-key-a"); w.Code != http.StatusNotFound {
		t.Errorf("tenant B reading A's key: %d", w.Code)
	}
	if w := b.post("/ui/keys/secret-key-a/disable", nil); w.Code != http.StatusNotFound {
		t.Errorf("tenant B disabling A's key: %d", w.Code)
	}
	if w := b.get("/ui/tenants"); w.Code != http.StatusForbidden {
		t.Errorf("tenant B on the root-only tenants page: %d", w.Code)
	}
	if w := b.post("/ui/tenant", url.Values{"tenant": {"tenant-a"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("tenant switch: %d", w.Code)
	} else if w := b.get("/ui/keys"); strings.Contains(w.Body.String(), "secret-key-a") {
		t.Errorf("a tenant token switched itself into tenant A")
	}
}

func TestComplianceReport(t *testing.T) {
	n := newNode(t)
	root := n.signIn(n.root, true)
	if w := root.post("/ui/keys", url.Values{"name": {"no-period"}, "type": {"sm4"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("create key: %d", w.Code)
	}
	status := func(b *browser) map[string]compliance.Check {
		t.Helper()
		w := b.get("/ui/compliance.json")
		var rep compliance.Report
		if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil || rep.Level != 3 {
			t.Fatalf("report: %d %s", w.Code, w.Body)
		}
		out := map[string]compliance.Check{}
		for _, c := range rep.Checks {
			out[c.ID] = c
		}
		return out
	}
	r := status(root)
	for id, want := range map[string]string{"algorithms.keys-approved": compliance.Pass, "keys.rotation-period": compliance.Fail,
		"transport.encrypted": compliance.Pass, "audit.verified": compliance.Pass, "root.shares": compliance.Fail} {
		if r[id].Status != want {
			t.Errorf("root: %s is %s (%s), want %s", id, r[id].Status, r[id].Evidence, want)
		}
	}
	if !strings.Contains(r["keys.rotation-period"].Evidence, "no-period") || r["keys.rotation-period"].Fix != "/ui/keys" {
		t.Errorf("the failing check names neither the key nor its fix: %+v", r["keys.rotation-period"])
	}
	// A tenant admin has no right to verify the audit log: n/a, not a pass.
	if got := status(n.signIn(n.tenant("acme"), false))["audit.verified"]; got.Status != compliance.NA {
		t.Errorf("tenant admin: audit.verified %+v", got)
	}
	if w := root.get("/ui/compliance"); !strings.Contains(w.Body.String(), `href="/ui/keys"`) {
		t.Errorf("the report page does not link the fix")
	}
}

func TestLanguage(t *testing.T) {
	n := newNode(t)
	r := httptest.NewRequest("GET", "/ui/login", nil)
	r.Header.Set("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8")
	w := httptest.NewRecorder()
	n.ui.ServeHTTP(w, r)
	if !strings.Contains(w.Body.String(), `lang="zh-CN"`) || !strings.Contains(w.Body.String(), "登录") {
		t.Fatalf("Chinese browser: %s", w.Body)
	}
	w = n.do(nil, "GET", "/ui/lang/en?back=//evil.example/", nil)
	if w.Header().Get("Location") != "/ui/status" || cookieOf(w, "lang").Value != "en" {
		t.Fatalf("switching language: %s %+v", w.Header().Get("Location"), w.Result().Cookies())
	}
}

// TestAuditPageSearchesOwnTenant: the audit page searches GET
// /v1/audit/records with the user's token, so a tenant admin finds its own
// records, filtered by operation and object, and never another tenant's.
func TestAuditPageSearchesOwnTenant(t *testing.T) {
	n := newNode(t)
	a, b := n.signIn(n.tenant("tenant-a"), false), n.signIn(n.tenant("tenant-b"), false)
	for _, k := range []struct {
		br   *browser
		name string
	}{{a, "key-of-a"}, {b, "key-of-b"}} {
		if w := k.br.post("/ui/keys", url.Values{"name": {k.name}, "type": {"sm4"}}); w.Code != http.StatusSeeOther {
			t.Fatalf("create %s: %d %s", k.name, w.Code, w.Body)
		}
	}
	if w := a.post("/ui/keys/key-of-a/rotate", nil); w.Code != http.StatusSeeOther {
		t.Fatalf("rotate: %d %s", w.Code, w.Body)
	}
	rows := regexp.MustCompile(`<tr><td>\s*(\d+)\s*</td>`)
	for _, c := range []struct {
		query      string
		want, none []string
	}{
		{"operation=keys.create", []string{"key-of-a", "keys.create"}, []string{"key-of-b", "keys.rotate", "tokens.self"}},
		{"object=key-of-a", []string{"keys.create", "keys.rotate"}, []string{"key-of-b"}},
		{"object=key-of-b", nil, []string{"key-of-b"}},
		{"", []string{"key-of-a", "keys.rotate"}, []string{"key-of-b"}},
	} {
		w := a.get("/ui/audit?" + c.query)
		_, body, found := strings.Cut(w.Body.String(), "<h2>Records</h2>")
		if w.Code != http.StatusOK || !found {
			t.Fatalf("%s: %d %s", c.query, w.Code, w.Body)
		}
		for _, s := range c.want {
			if !strings.Contains(body, s) {
				t.Errorf("%q: the page lacks %q", c.query, s)
			}
		}
		for _, s := range c.none {
			if strings.Contains(body, s) {
				t.Errorf("%q: the page shows %q", c.query, s)
			}
		}
		if c.want != nil && len(rows.FindAllString(body, -1)) == 0 {
			t.Errorf("%q: no record rows: %s", c.query, body)
		}
	}
	// Naming another tenant in the query changes nothing: the token's tenant is searched.
	if w := a.get("/ui/audit?tenant=tenant-b"); strings.Contains(w.Body.String(), "key-of-b") || !strings.Contains(w.Body.String(), "key-of-a") {
		t.Errorf("tenant A asking for tenant B's records: %d %s", w.Code, w.Body)
	}
	if w := a.get("/ui/audit?from=yesterday"); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "invalid_argument") {
		t.Errorf("a malformed time: %d %s", w.Code, w.Body)
	}
}

// TestDevicesPage: root sees the pool's devices and drains and undrains
// one with the page's buttons (CSRF like every form); a form without the
// CSRF token and a tenant admin change nothing.
func TestDevicesPage(t *testing.T) {
	n := newNode(t)
	root := n.signIn(n.root, false)
	w := root.get("/ui/devices")
	for _, want := range []string{"soft0", "soft1", `action="/ui/devices/soft1/drain"`} {
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
			t.Fatalf("devices page lacks %q: %d %s", want, w.Code, w.Body)
		}
	}
	drained := func() bool {
		st, _ := n.pool.MemberStatus("soft1")
		return st.Drained
	}
	if w := n.do(root, "POST", "/ui/devices/soft1/drain", url.Values{"csrf": {"forged"}}); w.Code != http.StatusForbidden || drained() {
		t.Fatalf("drain without the CSRF token: %d, drained %v", w.Code, drained())
	}
	if w := root.post("/ui/devices/soft1/drain", nil); w.Code != http.StatusSeeOther || !drained() {
		t.Fatalf("drain: %d %s, drained %v", w.Code, w.Body, drained())
	}
	if w := root.get("/ui/devices"); !strings.Contains(w.Body.String(), `action="/ui/devices/soft1/undrain"`) {
		t.Fatalf("a drained device without its undrain button: %s", w.Body)
	}
	if w := root.post("/ui/devices/soft1/undrain", nil); w.Code != http.StatusSeeOther || drained() {
		t.Fatalf("undrain: %d %s, drained %v", w.Code, w.Body, drained())
	}
	if w := root.post("/ui/devices/nope/drain", nil); w.Code != http.StatusNotFound {
		t.Errorf("draining an unknown device: %d", w.Code)
	}
	admin := n.signIn(n.tenant("acme"), false)
	if w := admin.post("/ui/devices/soft1/drain", nil); w.Code != http.StatusForbidden || drained() {
		t.Errorf("a tenant admin drained a device: %d, drained %v", w.Code, drained())
	}
	if w := admin.get("/ui/devices"); w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "soft0") {
		t.Errorf("a tenant admin sees the device pool: %d", w.Code)
	}
}

// challengeLogin signs in through the challenge forms: it asks for a
// challenge of tenant, signs the nonce shown with sign, and posts the
// signature (hex) with the fields of answer. It returns the answer's
// response and the browser.
func (n *node) challengeLogin(tenant, kind string, sign func(nonce []byte) []byte, answer url.Values) (*httptest.ResponseRecorder, *browser) {
	n.t.Helper()
	b := &browser{n: n}
	w := n.do(b, "GET", "/ui/login", nil)
	b.cookie = cookieOf(w, preCookie)
	m := csrfField.FindStringSubmatch(w.Body.String())
	w = n.do(b, "POST", "/ui/login/challenge", url.Values{"tenant": {tenant}, "kind": {kind}, "csrf": {m[1]}})
	nonce := regexp.MustCompile(`Nonce \(hex\)\s*</td><td>\s*([0-9a-f]+)`).FindStringSubmatch(w.Body.String())
	id := regexp.MustCompile(`name="challenge_id" value="([^"]+)"`).FindStringSubmatch(w.Body.String())
	m = csrfField.FindStringSubmatch(w.Body.String())
	if w.Code != http.StatusOK || nonce == nil || id == nil || m == nil {
		n.t.Fatalf("challenge page: %d %s", w.Code, w.Body)
	}
	raw, err := hex.DecodeString(nonce[1])
	if err != nil {
		n.t.Fatal(err)
	}
	b.cookie = cookieOf(w, preCookie)
	form := url.Values{"tenant": {tenant}, "kind": {kind}, "challenge_id": {id[1]}, "csrf": {m[1]}, "signature": {hex.EncodeToString(sign(raw))}}
	for k, v := range answer {
		form[k] = v
	}
	w = n.do(b, "POST", "/ui/login/answer", form)
	b.cookie = cookieOf(w, cookieName)
	return w, b
}

// TestChallengeLogin is the console's certificate and SM9 login: the
// page shows the nonce of POST /v1/auth/challenge, the user signs it
// outside the browser (here a key held in mima signs for the USB key, and
// sdk/sm9dev for the SM9 terminal) and pastes the signature; the session
// has the token the tenant's login rule gives. A wrong signature starts
// no session.
func TestChallengeLogin(t *testing.T) {
	ctx := context.Background()
	n := newNode(t)
	admin := n.client(n.tenant("acme"))
	if _, err := admin.Auth().PutPolicy(ctx, "reader", []sdk.Rule{{Operations: []string{"keys.read"}, Objects: []string{"*"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CA().Create(ctx, sdk.CreateCARequest{Name: "staff", Type: "root", Subject: sdk.Subject{CommonName: "Staff CA"}}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []sdk.CreateKeyRequest{{Name: "usb-key", Type: "sm2"}, {Name: "kgc1", Type: "sm9-sign-master"}} {
		if _, err := admin.Keys().Create(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := admin.CA().Issue(ctx, "staff", sdk.IssueRequest{Key: "usb-key", Subject: sdk.Subject{CommonName: "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []sdk.LoginRule{{Name: "staff", Match: "subject", Pattern: "CN=alice", CA: "staff", Policies: []string{"reader"}, TTL: "1h"},
		{Name: "rtus", Match: "sm9", KGC: "kgc1", Pattern: "rtu-*", Policies: []string{"reader"}, TTL: "1h"}} {
		if _, err := admin.Auth().PutLoginRule(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	usbKey := func(msg []byte) []byte {
		s, err := admin.Crypto().Sign(ctx, "usb-key", sdk.SignRequest{Input: msg})
		if err != nil {
			t.Fatal(err)
		}
		return s.Signature
	}
	terminal, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := smx509.MarshalPKIXPublicKey(&terminal.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	x, err := admin.SM9().Extract(ctx, "kgc1", sdk.SM9ExtractRequest{ID: "rtu-7", Deliver: sdk.SM9Delivery{SM2PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}})
	if err != nil {
		t.Fatal(err)
	}
	rtu, err := sm9dev.OpenEnvelope("rtu-7", x.Envelope, terminal)
	if err != nil {
		t.Fatal(err)
	}
	sm9Sign := func(msg []byte) []byte {
		s, err := rtu.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	certificate := url.Values{"certificate": {cert.Certificate}}
	sm9 := url.Values{"kgc": {"kgc1"}, "id": {"rtu-7"}}
	for _, c := range []struct {
		name, kind string
		sign       func([]byte) []byte
		answer     url.Values
	}{{"certificate", "certificate", usbKey, certificate}, {"sm9", "sm9", sm9Sign, sm9}} {
		w, b := n.challengeLogin("acme", c.kind, c.sign, c.answer)
		if w.Code != http.StatusSeeOther || b.cookie == nil {
			t.Fatalf("%s login: %d %s", c.name, w.Code, w.Body)
		}
		if page := b.get("/ui/status"); page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "Tenant: acme") {
			t.Errorf("%s login: the session's status page: %d %s", c.name, page.Code, page.Body)
		}
	}
	forged := func([]byte) []byte { return usbKey([]byte("not the nonce")) }
	for _, c := range []struct {
		name, kind string
		sign       func([]byte) []byte
		answer     url.Values
	}{
		{"a signature of another message", "certificate", forged, certificate},
		{"another identity", "sm9", sm9Sign, url.Values{"kgc": {"kgc1"}, "id": {"rtu-8"}}},
		{"a signature that is not hex or base64", "certificate", usbKey, url.Values{"certificate": {cert.Certificate}, "signature": {"%%%"}}},
	} {
		if w, b := n.challengeLogin("acme", c.kind, c.sign, c.answer); w.Code == http.StatusSeeOther || b.cookie != nil || !strings.Contains(w.Body.String(), `role="alert"`) {
			t.Errorf("%s: %d, session %v", c.name, w.Code, b.cookie != nil)
		}
	}
}

// TestKeysSearchByName: the keys page finds keys whose names contain the
// text searched for, ignoring case, across the API's pages, and pages the
// matches.
func TestKeysSearchByName(t *testing.T) {
	n := newNode(t)
	c := n.client(n.root)
	var names []string
	for i := range 25 {
		names = append(names, fmt.Sprintf("app-%02d", i))
	}
	names = append(names, "db-main", "db-replica")
	for _, name := range names {
		if _, err := c.Keys().Create(context.Background(), sdk.CreateKeyRequest{Name: name, Type: "sm4"}); err != nil {
			t.Fatal(err)
		}
	}
	b := n.signIn(n.root, false)
	shown := regexp.MustCompile(`<a href="/ui/keys/([^"]+)">`)
	list := func(path string) ([]string, string) {
		t.Helper()
		w := b.get(path)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		var keys []string
		for _, m := range shown.FindAllStringSubmatch(w.Body.String(), -1) {
			keys = append(keys, m[1])
		}
		next := regexp.MustCompile(`href="(/ui/keys\?[^"]*after=[^"]*)"`).FindStringSubmatch(w.Body.String())
		if next == nil {
			return keys, ""
		}
		return keys, html.UnescapeString(next[1])
	}
	if keys, next := list("/ui/keys?name=DB"); strings.Join(keys, ",") != "db-main,db-replica" || next != "" {
		t.Errorf("name=DB: %v, next %q", keys, next)
	}
	keys, next := list("/ui/keys?name=app")
	if len(keys) != 20 || keys[0] != "app-00" || next == "" {
		t.Fatalf("name=app, first page: %v, next %q", keys, next)
	}
	if keys, next = list(next); strings.Join(keys, ",") != "app-20,app-21,app-22,app-23,app-24" || next != "" {
		t.Errorf("name=app, second page: %v, next %q", keys, next)
	}
	if keys, _ := list("/ui/keys?name=nothing-like-this"); len(keys) != 0 {
		t.Errorf("a name nothing matches: %v", keys)
	}
}
