package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// answering is a server that answers every request with status and body.
func answering(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req-1")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestStatusExitCodes: as vault status, 0 unsealed, 2 sealed or not
// initialised, 1 on error (issue 13).
func TestStatusExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   int
	}{
		{"unsealed", 200, `{"initialized":true,"sealed":false,"version":"v"}`, 0},
		{"sealed", 503, `{"initialized":true,"sealed":true,"version":"v"}`, 2},
		{"not initialised", 503, `{"initialized":false,"sealed":true,"version":"v"}`, 2},
		{"error", 500, `{"error":{"code":"internal","message":"boom","request_id":"r"}}`, 1},
	} {
		if code, out, errOut := run(t, "", "--address", answering(t, tc.status, tc.body), "status"); code != tc.want {
			t.Errorf("%s: exit %d, want %d: %s%s", tc.name, code, tc.want, out, errOut)
		}
	}
	if code, _, _ := run(t, "", "--address", "http://127.0.0.1:1", "status"); code != 1 {
		t.Errorf("unreachable server: exit %d, want 1", code)
	}
}

// TestStatusShowsDeploymentWithAToken: with a token, status also shows
// the seal type and listeners, which only token holders may read; without
// one it asks for them not at all.
func TestStatusShowsDeploymentWithAToken(t *testing.T) {
	var asked atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1/sys/deployment" {
			asked.Store(true)
			_, _ = w.Write([]byte(`{"seal_type":"kek","listeners":[{"addr":":8200","protocol":"tls"}]}`))
			return
		}
		_, _ = w.Write([]byte(`{"initialized":true,"sealed":false,"version":"v"}`))
	}))
	t.Cleanup(srv.Close)
	code, out, errOut := run(t, "", "--address", srv.URL, "--token", "t", "status")
	if code != 0 || !strings.Contains(out, "Seal type") || !strings.Contains(out, ":8200 (tls)") {
		t.Fatalf("status with a token: exit %d: %s%s", code, out, errOut)
	}
	code, out, _ = run(t, "", "--address", srv.URL, "--token", "t", "status", "--format", "json")
	var st struct {
		Sealed     *bool
		Deployment struct {
			SealType string `json:"seal_type"`
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Sealed == nil || st.Deployment.SealType != "kek" {
		t.Fatalf("status --format json with a token: exit %d: %s", code, out)
	}
	asked.Store(false)
	if code, out, _ = run(t, "", "--address", srv.URL, "status"); code != 0 || strings.Contains(out, "Seal type") || asked.Load() {
		t.Fatalf("status without a token: exit %d, asked for the deployment %v: %s", code, asked.Load(), out)
	}
}

// TestVersion: `mima version` and `mima --version` print the version, the
// commit and the Go version (issue 13).
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := run(t, "", args...)
		if code != 0 || !strings.Contains(out, "mima ") || !strings.Contains(out, "commit ") || !strings.Contains(out, runtime.Version()) {
			t.Errorf("mima %s: exit %d: %q %q", args[0], code, out, errOut)
		}
	}
	code, out, _ := run(t, "", "version", "--format", "json")
	var v struct{ Version, Commit, Go string }
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Version == "" || v.Go != runtime.Version() {
		t.Errorf("version --format json: exit %d: %q", code, out)
	}
}

// TestJSONErrors: under --format json an error is a JSON object on
// standard error, the API's own shape, whether the server or the command
// line found it (issue 13).
func TestJSONErrors(t *testing.T) {
	addr := answering(t, 404, `{"error":{"code":"key_not_found","message":"key \"k\" not found","request_id":"req-9"}}`)
	for _, tc := range []struct {
		name     string
		args     []string
		code     string
		request  string
		wantExit int
	}{
		{"server error", []string{"--address", addr, "--format", "json", "key", "show", "k"}, "key_not_found", "req-9", 1},
		{"usage error", []string{"--format", "json", "key", "show"}, "usage", "", 1},
		{"unknown flag", []string{"--format", "json", "key", "list", "--nope"}, "usage", "", 1},
		{"unreachable", []string{"--address", "http://127.0.0.1:1", "--format", "json", "key", "list"}, "unavailable", "", 1},
	} {
		code, out, errOut := run(t, "", tc.args...)
		var e struct {
			Error struct {
				Code      string `json:"code"`
				Message   string `json:"message"`
				RequestID string `json:"request_id"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(errOut), &e); err != nil || code != tc.wantExit || out != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q is not a JSON error: %v", tc.name, code, out, errOut, err)
			continue
		}
		if e.Error.Code != tc.code || e.Error.Message == "" || e.Error.RequestID != tc.request {
			t.Errorf("%s: %+v", tc.name, e.Error)
		}
	}
	// Without --format json errors stay text.
	if _, _, errOut := run(t, "", "--address", addr, "key", "show", "k"); !strings.HasPrefix(errOut, "Error: key_not_found") {
		t.Errorf("text error: %q", errOut)
	}
}

// TestCertRenewPrintsPEM: cert renew prints the new certificate's PEM,
// which is what a renewal is for; a table only with --format table, JSON
// with --format json (issue 13). Its duration flags take days.
func TestCertRenewPrintsPEM(t *testing.T) {
	const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	addr := answering(t, 200, `{"serial":"0123456789abcdef0123456789abcdef","certificate":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n","subject":"CN=a","certificates":[]}`)
	if code, out, errOut := run(t, "", "--address", addr, "cert", "renew", "01"); code != 0 || out != pem || !strings.Contains(errOut, "serial 0123456789abcdef0123456789abcdef") {
		t.Errorf("cert renew: exit %d %q %q", code, out, errOut)
	}
	if code, out, _ := run(t, "", "--address", addr, "cert", "renew", "01", "--format", "table"); code != 0 || !strings.Contains(out, "Serial") || strings.Contains(out, "BEGIN") {
		t.Errorf("cert renew --format table: exit %d %q", code, out)
	}
	if code, out, _ := run(t, "", "--address", addr, "cert", "renew", "01", "--format", "json"); code != 0 || !strings.Contains(out, `"serial"`) {
		t.Errorf("cert renew --format json: exit %d %q", code, out)
	}
	if code, _, errOut := run(t, "", "--address", addr, "cert", "list", "--expiring", "30d"); code != 0 {
		t.Errorf("cert list --expiring 30d: exit %d %s", code, errOut)
	}
}

// TestProgress: the progress line counts to the total and ends the line;
// without a terminal nothing is added to the stream.
func TestProgress(t *testing.T) {
	var shown strings.Builder
	data := strings.Repeat("m", 3<<20)
	p := &progressReader{r: strings.NewReader(data), w: &shown, label: "hashing", total: int64(len(data))}
	if b, err := io.ReadAll(p); err != nil || len(b) != len(data) {
		t.Fatalf("read %d bytes, %v", len(b), err)
	}
	if out := shown.String(); !strings.HasSuffix(out, "\rhashing 100% (3.0 of 3.0 MiB)\n") || !strings.Contains(out, "hashing 0% (") {
		t.Errorf("progress: %q", out[max(0, len(out)-80):])
	}
	e := &env{errOut: &shown}
	r := strings.NewReader("x")
	if e.progress("hashing", 1, r) != io.Reader(r) {
		t.Error("a progress line on a stream that is not a terminal")
	}
}

// TestListsShareOneShape: every list command answers
// {"items":[...],"next":...} under --format json and a table with a
// header otherwise (issue 13).
func TestListsShareOneShape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		// One answer that every list route's decoder reads its part of.
		_, _ = w.Write([]byte(`{"keys":[{"name":"k1"}],"aliases":[{"name":"a1","target":"k1"}],"tokens":[{"accessor":"t1"}],
			"tenants":[{"name":"n1"}],"policies":["p1"],"cas":[{"name":"c1"}],"profiles":[{"name":"f1"}],
			"certificates":[{"serial":"s1"}],"tsas":[{"name":"ts1"}],"rules":[{"name":"r1"}],"next":"cursor"}`))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		args []string
		item string
	}{
		{[]string{"key", "list"}, "k1"},
		{[]string{"key", "alias", "list"}, "a1"},
		{[]string{"token", "list"}, "t1"},
		{[]string{"tenant", "list"}, "n1"},
		{[]string{"policy", "list"}, "p1"},
		{[]string{"ca", "list"}, "c1"},
		{[]string{"ca", "profile", "list", "c1"}, "f1"},
		{[]string{"cert", "list"}, "s1"},
		{[]string{"tsa", "list"}, "ts1"},
		{[]string{"login-rule", "list"}, "r1"},
	} {
		args := append([]string{"--address", srv.URL}, tc.args...)
		code, out, errOut := run(t, "", append(args, "--format", "json")...)
		var l struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal([]byte(out), &l); code != 0 || err != nil || len(l.Items) != 1 || !strings.Contains(string(l.Items[0]), tc.item) {
			t.Errorf("%v --format json: exit %d %v: %s %s", tc.args, code, err, out, errOut)
		}
		code, out, _ = run(t, "", args...)
		header, _, _ := strings.Cut(out, "\n")
		if code != 0 || header == "" || header != strings.ToUpper(header) || !strings.Contains(out, tc.item) {
			t.Errorf("%v: exit %d, no header line: %q", tc.args, code, out)
		}
	}
}
