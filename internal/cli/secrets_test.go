package cli

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// run runs the command line in process and returns its exit status and
// what it wrote to standard output and standard error.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// commandPaths lists the path of every command of the tree, the root's
// included.
func commandPaths(cmd *cobra.Command, prefix []string) [][]string {
	paths := [][]string{prefix}
	for _, c := range cmd.Commands() {
		paths = append(paths, commandPaths(c, append(append([]string(nil), prefix...), c.Name()))...)
	}
	return paths
}

// TestNoSecretInHelpOrErrors sets every secret the command line reads from
// the environment, a file, an argument or standard input, then reads every
// help page and the errors of the commands that carry one: none may show
// it (issue 13).
func TestNoSecretInHelpOrErrors(t *testing.T) {
	const (
		token    = "mima.acc123.TOKENSECRETVALUE"
		dsnPass  = "DSNSECRETVALUE"
		baoToken = "BAOSECRETVALUE"
		imported = "IMPORTSECRETVALUE"
		share    = "SHARESECRETVALUE"
		password = "PASSWORDSECRETVALUE"
	)
	secrets := []string{"TOKENSECRETVALUE", dsnPass, baoToken, imported, share, password}
	// A server that refuses everything, as a sealed or strict one would.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"code":"invalid_argument","message":"refused","request_id":"r1"}}`))
	}))
	defer srv.Close()
	t.Setenv("MIMA_ADDR", srv.URL)
	t.Setenv("MIMA_TOKEN", token)
	t.Setenv("MIMA_POSTGRES_DSN", "postgres://mima:"+dsnPass+"@127.0.0.1:1/mima")
	t.Setenv("BAO_TOKEN", baoToken)
	t.Setenv("MIMA_IMPORT_TOKEN", imported)
	dir := t.TempDir()
	passFile := filepath.Join(dir, "pass")
	blob := filepath.Join(dir, "blob")
	if err := os.WriteFile(passFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blob, []byte("blob"), 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(what, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s shows a secret:\n%s", what, text)
			}
		}
	}
	root := (&env{}).rootCommand()
	for _, path := range commandPaths(root, nil) {
		_, out, errOut := run(t, "", append(path, "--help")...)
		check("mima "+strings.Join(path, " ")+" --help", out+errOut)
	}
	for _, tc := range []struct {
		stdin string
		args  []string
	}{
		{"", []string{"operator", "unseal", share}},
		{share + "\n", []string{"operator", "unseal"}},
		{share + "\n", []string{"operator", "generate-root", "--nonce", "n1"}},
		{"", []string{"key", "backup", "k", "--password-file", passFile}},
		{password + "\n", []string{"key", "backup", "k"}},
		{"", []string{"key", "restore", "--in", blob, "--password-file", passFile}},
		{"", []string{"key", "import", "k", "--in", blob}},
		{"", []string{"status"}},
		{"", []string{"token", "lookup"}},
		{"", []string{"--token", token + "\n", "token", "lookup"}},
		{"", []string{"audit", "verify", "--postgres-dsn", "postgres://mima:" + dsnPass + "@127.0.0.1:1/mima"}},
		{"", []string{"--format", "json", "key", "list"}},
	} {
		_, out, errOut := run(t, tc.stdin, tc.args...)
		check("mima "+strings.Join(tc.args, " "), out+errOut)
	}
}

// fakeTerminal answers ReadPassword with its lines, in order, and counts
// the reads.
type fakeTerminal struct {
	lines []string
	reads int
}

func (f *fakeTerminal) ReadPassword() ([]byte, error) {
	if f.reads >= len(f.lines) {
		return nil, io.EOF
	}
	f.reads++
	return []byte(f.lines[f.reads-1]), nil
}

// TestSecretsFromATerminalAreReadWithoutEcho: from a terminal a share or
// password is read without echo (never from the echoing stream), a new
// password is asked twice and two different entries do nothing; from a
// pipe the line is read as before (issue 13).
func TestSecretsFromATerminalAreReadWithoutEcho(t *testing.T) {
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, r.URL.Path+" "+string(b))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"sealed":true,"threshold":3,"progress":1}`))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name      string
		lines     []string
		stdin     string
		args      []string
		wantReads int
		wantBody  string // "" when nothing may be sent
		wantCode  int
	}{
		{"unseal from a terminal", []string{"c2hhcmU="}, "", []string{"operator", "unseal"}, 1, `"c2hhcmU="`, 0},
		{"new password twice", []string{"pw-1", "pw-1"}, "", []string{"key", "backup", "k"}, 2, `"pw-1"`, 0},
		{"new passwords differ", []string{"pw-1", "pw-2"}, "", []string{"key", "backup", "k"}, 2, "", 1},
		{"restore asks once", []string{"pw-1"}, "", []string{"key", "restore", "--in", os.DevNull}, 1, `"pw-1"`, 0},
		{"a pipe is read as is", nil, "pw-3\n", []string{"key", "backup", "k"}, 0, `"pw-3"`, 0},
	} {
		bodies = nil
		var out, errOut bytes.Buffer
		e := &env{in: strings.NewReader(tc.stdin), out: &out, errOut: &errOut}
		ft := &fakeTerminal{lines: tc.lines}
		if tc.lines != nil {
			e.term = ft
		}
		code := e.main(append([]string{"--address", srv.URL}, tc.args...))
		if code != tc.wantCode || ft.reads != tc.wantReads {
			t.Errorf("%s: exit %d after %d terminal reads, want %d after %d: %s", tc.name, code, ft.reads, tc.wantCode, tc.wantReads, errOut.String())
		}
		sent := strings.Join(bodies, "\n")
		if (tc.wantBody == "") != (len(bodies) == 0) || !strings.Contains(sent, tc.wantBody) {
			t.Errorf("%s: sent %q, want a request with %s", tc.name, sent, tc.wantBody)
		}
		for _, l := range tc.lines {
			if strings.Contains(out.String()+errOut.String(), l) {
				t.Errorf("%s: the secret was echoed: %s%s", tc.name, out.String(), errOut.String())
			}
		}
	}
}
