package console

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mimacrypto/mima/internal/compliance"
	"github.com/mimacrypto/mima/sdk"
)

// axeScript is axe-core from npm, vendored (testdata/axe/README.md).
const axeScript = "testdata/axe/axe-4.14.1.min.js"

// tab is a headless Chromium tab on a console; every page it visits is
// screenshotted into the test's artefact directory (go test -artifacts)
// and checked with axe-core.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	axe  string
	shot int

	mu       sync.Mutex
	problems []string // console errors the page must never show
}

func newTab(t *testing.T, base string) *tab {
	t.Helper()
	if _, err := compliance.Chromium(); err != nil {
		t.Skip("Chromium is not installed; run scripts/test, which installs Debian's chromium")
	}
	axe, err := os.ReadFile(axeScript)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel, err := compliance.NewBrowser(context.Background(), chromedp.WindowSize(1280, 800))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelTimeout)
	b := &tab{t: t, ctx: ctx, base: base, axe: string(axe)}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				b.problems = append(b.problems, m.Text)
			}
			b.mu.Unlock()
		}
	}()
	return b
}

// do runs browser actions, failing the test on an error.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval returns the value of a JavaScript expression, awaiting a promise.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor waits until a JavaScript expression is true.
func (b *tab) waitFor(what, expr string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		b.t.Fatalf("waiting for %s (%s): %v; the page: %s", what, expr, err, eval[string](b, "document.body.innerText"))
	}
}

// follow clicks the element sel and waits until htmx has swapped in and
// settled the page titled title, without loading a new document.
func (b *tab) follow(sel, title string) {
	b.t.Helper()
	b.do("clicking "+sel, chromedp.Evaluate[chromedp.Void](`window.mimaSettled = false`), chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	b.waitFor("the "+title+" page", fmt.Sprintf(`window.mimaSettled && document.title.startsWith(%q)`, title))
}

// check screenshots the page and runs axe-core on it: no serious or
// critical violation may remain.
func (b *tab) check(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot of %s: %v", name, err)
	}
	b.shot++
	if err := os.WriteFile(filepath.Join(b.t.ArtifactDir(), fmt.Sprintf("%02d-%s.png", b.shot, name)), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	if !eval[bool](b, "typeof axe === 'object'") {
		b.do("loading axe-core", chromedp.Evaluate[chromedp.Void](b.axe))
	}
	bad := eval[[]string](b, `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
		.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => v.id + " (" + v.impact + "): " + v.help + ": " + v.nodes.map(n => n.target.join(" ")).join(", ")))`)
	for _, v := range bad {
		b.t.Errorf("%s: accessibility: %s", name, v)
	}
}

// TestInBrowser drives the console in headless Chromium through every
// page: sign in, create a key, encrypt through the API and see the key's
// usage chart move, revoke a certificate and find its audit record.
// Navigation is by clicking, so htmx's boost does it.
func TestInBrowser(t *testing.T) {
	n := newNode(t)
	mux := http.NewServeMux()
	mux.Handle("/ui/", n.ui)
	mux.Handle("/", n.api)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	api, _ := sdk.New(srv.URL, sdk.WithToken(n.root), sdk.WithTenant("default"))
	if _, err := api.Keys().Create(ctx, sdk.CreateKeyRequest{Name: "signer", Type: "sm2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.CA().Create(ctx, sdk.CreateCARequest{Name: "root-ca", Type: "root", Subject: sdk.Subject{CommonName: "Browser Test Root"}}); err != nil {
		t.Fatal(err)
	}
	cert, err := api.CA().Issue(ctx, "root-ca", sdk.IssueRequest{Key: "signer", Subject: sdk.Subject{CommonName: "leaf.example"}})
	if err != nil {
		t.Fatal(err)
	}

	b := newTab(t, srv.URL)
	b.do("opening the console", chromedp.Navigate(srv.URL+"/ui/"))
	b.waitFor("the sign-in page", `document.title.startsWith("Sign in")`)
	b.check("login")
	b.do("asking for a login challenge", chromedp.SendKeys(chromedp.CSS(`input[name="tenant"]`), "default"),
		chromedp.Click(chromedp.CSS(`form[action="/ui/login/challenge"] button`), chromedp.NodeVisible))
	b.waitFor("the challenge page", `document.querySelector('form[action="/ui/login/answer"] textarea[name="certificate"]')`)
	b.check("login-challenge")
	// From here on the document must stay the same: htmx swaps pages in.
	b.do("marking the document", chromedp.Evaluate[chromedp.Void](`window.mimaDocument = true;
		document.addEventListener("htmx:afterSettle", () => { window.mimaSettled = true })`))
	b.do("typing the token", chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), n.root))
	b.follow(`main form button`, "Status")
	b.check("status")

	b.follow(`nav a[href="/ui/keys"]`, "Keys")
	b.do("filling the key form", chromedp.SendKeys(chromedp.CSS(`form[action="/ui/keys"][method="POST"] input[name="name"]`), "orders"))
	b.follow(`form[action="/ui/keys"][method="POST"] button`, "Keys")
	b.waitFor("the new key", `document.querySelector('a[href="/ui/keys/orders"]') && document.querySelector(".flash")`)
	b.check("keys")

	b.do("filling the key form again", chromedp.SendKeys(chromedp.CSS(`form[action="/ui/keys"][method="POST"] input[name="name"]`), "orders"))
	b.follow(`form[action="/ui/keys"][method="POST"] button`, "Keys")
	b.waitFor("the error of a duplicate name", `document.querySelector('[role="alert"]')`)
	if msg := eval[string](b, `document.querySelector('[role="alert"]').textContent`); !strings.Contains(msg, "already_exists") {
		t.Errorf("creating a key twice shows %q", msg)
	}

	b.follow(`a[href="/ui/keys/orders"]`, "Key")
	b.waitFor("the key's chart", `document.querySelector(".chart[data-total]")`)
	before := eval[int](b, `Number(document.querySelector(".chart").dataset.total)`)
	b.check("key")
	for range 5 {
		if _, err := api.Crypto().Encrypt(ctx, "orders", sdk.EncryptRequest{Plaintext: []byte("order 1")}); err != nil {
			t.Fatal(err)
		}
	}
	b.follow(`nav a[href="/ui/keys"]`, "Keys")
	b.follow(`a[href="/ui/keys/orders"]`, "Key")
	b.waitFor("the key's chart after encryption", fmt.Sprintf(`Number(document.querySelector(".chart[data-total]")?.dataset.total) >= %d`, before+5))
	if !eval[bool](b, `document.querySelector(".chart canvas") !== null`) {
		t.Errorf("uPlot drew no canvas")
	}
	b.check("key-after-encrypt")

	b.follow(`nav a[href="/ui/usage"]`, "Usage")
	b.waitFor("the usage charts", `document.querySelectorAll(".chart[data-total]").length === document.querySelectorAll(".chart").length`)
	b.check("usage")

	b.follow(`nav a[href="/ui/certs"]`, "Certificates")
	b.check("certs")
	b.follow(fmt.Sprintf(`form[action="/ui/certs/%s/revoke"] button`, cert.Serial), "Certificates")
	b.waitFor("the revocation", fmt.Sprintf(`document.querySelector(".flash")?.textContent.includes(%q)`, cert.Serial))
	if got, err := api.Certs().Get(ctx, cert.Serial); err != nil || got.State != "revoked" {
		t.Errorf("after revoking in the console the certificate is %+v, %v", got, err)
	}

	b.follow(`nav a[href="/ui/audit"]`, "Audit")
	b.do("searching the audit log", chromedp.SendKeys(chromedp.CSS(`input[name="operation"]`), "certs.revoke"),
		chromedp.SendKeys(chromedp.CSS(`input[name="object"]`), cert.Serial))
	b.follow(`form[action="/ui/audit"] button`, "Audit")
	b.waitFor("the revocation's audit record", fmt.Sprintf(`[...document.querySelectorAll("td")].some(td => td.textContent.includes(%q))`, cert.Serial))
	b.check("audit")

	for _, p := range []struct{ path, title string }{{"/ui/tenants", "Tenants"}, {"/ui/tsas", "TSAs"}, {"/ui/tokens", "Tokens"},
		{"/ui/policies", "Policies"}, {"/ui/compliance", "Compliance"}, {"/ui/v2x", "V2X"}, {"/ui/devices", "Devices"}} {
		b.follow(fmt.Sprintf(`nav a[href=%q]`, p.path), p.title)
		b.check(strings.TrimPrefix(p.path, "/ui/"))
	}
	b.follow(`form[action="/ui/devices/soft1/drain"] button`, "Devices")
	b.waitFor("the drained device", `document.querySelector('form[action="/ui/devices/soft1/undrain"]') && document.querySelector(".flash")`)
	b.check("devices-drained")
	b.follow(`a[lang="zh"]`, "状态")
	b.check("status-zh")

	if !eval[bool](b, `window.mimaDocument === true`) {
		t.Errorf("a page loaded a new document: htmx did not boost the navigation")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Errorf("the browser console: %s", p)
	}
}
