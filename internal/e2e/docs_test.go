package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/interoptest"
	"github.com/mimacrypto/mima/internal/storage/postgres/pgtest"
)

// docCommand is one command of a fenced sh example: its lines joined where
// they end in a backslash.
type docCommand struct {
	file string
	line int
	text string
}

// docCommands reads the commands of the fenced ```sh blocks of a Markdown
// file, in order; comment lines are left out.
func docCommands(t *testing.T, file string) []docCommand {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []docCommand
	in, pending, start := false, "", 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !in && strings.TrimSpace(line) == "```sh":
			in = true
		case in && strings.TrimSpace(line) == "```":
			in = false
		case !in:
		case pending == "" && (strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#")):
		default:
			if pending == "" {
				start = n
			}
			if cont, ok := strings.CutSuffix(line, "\\"); ok {
				pending += cont
				continue
			}
			out = append(out, docCommand{file: file, line: start, text: pending + line})
			pending = ""
		}
	}
	return out
}

// docSkip is a documented command the test does not run, and why.
type docSkip struct{ file, prefix, reason string }

// docSkips are the commands that cannot run inside a test as printed.
var docSkips = []docSkip{
	{"README.md", "go run ./cmd/mima server --dev", "starts the server; the test starts its own"},
	{"README.md", "scripts/test", "runs every test, this one included"},
	{"README.md", "go build -o /usr/local/bin/mima", "installs system-wide; the test builds its own binary"},
	{"README.md", "mima server ", "starts a server (production config, TLCP); the test starts its own"},
	{"README.md", "mima --address https://mima.example:8443", "needs the TLCP server of the line before (TestTLCPWithCertificatesFromItsOwnCA covers it)"},
	{"README.md", "mima gateway ", "runs until stopped (TestGatewayChain covers it)"},
	{"README.md", "createdb -h db.example", "needs a PostgreSQL host and three nodes (TestThreeNodesOnePostgres covers it)"},
	{"README.md", "MIMA_ADDR=http://mima-1:8200", "needs three nodes (TestThreeNodesOnePostgres covers it)"},
	{"README.md", "for n in mima-1 mima-2 mima-3", "needs three nodes (TestThreeNodesOnePostgres covers it)"},
	{"README.md", "mima audit verify --archive ", "needs the archive of a node with audit_archive_dir and its key (TestAuditArchiveVerifiesOffline covers it)"},
	{"docs/deploy.md", "", "installs mima and runs it under systemd, as root; README.md's examples run the same mima commands"},
	{"docs/configuration.md", "mima server ", "starts a production server; the test starts its own"},
	{"docs/tlcp.md", "mima server ", "starts a TLCP server (TestTLCPWithCertificatesFromItsOwnCA covers it)"},
	{"docs/tlcp.md", "mima --address https://mima.example:8443", "needs that TLCP server (TestTLCPWithCertificatesFromItsOwnCA covers it)"},
	{"docs/tlcp.md", "mima gateway ", "runs until stopped (TestGatewayChain covers it)"},
	{"docs/tlcp.md", "mima audit verify --audit-dir /var/lib/mima-gateway", "needs a gateway's audit log (TestGatewayChain covers it)"},
	{"docs/sdf.md", "", "builds the C libraries and links a C program (TestSDFLibrary does both)"},
	{"docs/dns.md", "mima gateway ", "runs until stopped (TestEPPOverTLCPGateway covers it)"},
	{"docs/v2x.md", "MIMA_TOKEN=<la", "needs linkage authorities at two other clusters (TestV2XRemoteLAs covers it)"},
	{"docs/v2x.md", "mima v2x create cn --root v2x-root --eca v2x-eca --ra v2x-ra --pca", "needs linkage authorities at two other clusters (TestV2XRemoteLAs covers it)"},
}

// docRun is how the test runs one command: how many times (custodians
// each run it) and its standard input for the i-th run.
type docRun struct {
	times int
	stdin func(st *docState, i int) string
}

// docRuns are the commands that need input or run more than once, by
// prefix.
var docRuns = map[string]docRun{
	"mima operator unseal":                 {3, func(st *docState, i int) string { return st.shares[i] + "\n" }},
	"mima operator generate-root --nonce ": {3, func(st *docState, i int) string { return st.shares[i] + "\n" }},
	"mima key backup ":                     {1, func(*docState, int) string { return "correct horse battery staple\n" }},
}

// docState is what the commands printed so far, from which the test
// fills the placeholders of later ones.
type docState struct {
	transcript string
	shares     []string
}

// docPlaceholders fill <placeholders> from what earlier commands printed:
// the first or last match of a pattern in the transcript.
var docPlaceholders = map[string]struct {
	pattern string
	first   bool
}{
	"<nonce>":              {`(?m)^Nonce\s+(\S+)`, false},
	"<otp>":                {`(?m)^OTP\s+(\S+)`, false},
	"<encoded>":            {`(?m)^Encoded token\s+(\S+)`, false},
	"<old root token>":     {`(?m)^Root token\s+(mima\.\S+)`, true},
	"<root token>":         {`(?m)^Root token\s+(mima\.\S+)`, false},
	"<tenant admin token>": {`(?m)^Tenant\s+hospital-a\s*\nAdmin token\s+(\S+)`, true},
	"<accessor>":           {`(?m)^Accessor\s+(\S+)`, false},
	"<serial>":             {`(?mi)^serial\s+([0-9a-f]{32})`, false},
	"<pin>":                {`(?m)^Root pin\s+(\S+)`, false},
	"<v2x-eca token>":      {`(?m)^Tenant\s+v2x-eca\s*\nAdmin token\s+(\S+)`, true},
	"<v2x-ra token>":       {`(?m)^Tenant\s+v2x-ra\s*\nAdmin token\s+(\S+)`, true},
	"<eca token>":          {`(?m)^Tenant\s+v2x-eca\s*\nAdmin token\s+(\S+)`, true},
	"<ra token>":           {`(?m)^Tenant\s+v2x-ra\s*\nAdmin token\s+(\S+)`, true},
	"<ma token>":           {`(?m)^Tenant\s+v2x-ma\s*\nAdmin token\s+(\S+)`, true},
	"<registry token>":     {`(?m)^Tenant\s+registry\s*\nAdmin token\s+(\S+)`, true},
}

// fill replaces the placeholders of cmd from the transcript.
func (st *docState) fill(t *testing.T, cmd string) string {
	t.Helper()
	for ph, p := range docPlaceholders {
		if !strings.Contains(cmd, ph) {
			continue
		}
		m := regexp.MustCompile(p.pattern).FindAllStringSubmatch(st.transcript, -1)
		if len(m) == 0 {
			t.Fatalf("nothing printed so far fills %s in %q", ph, cmd)
		}
		v := m[len(m)-1][1]
		if p.first {
			v = m[0][1]
		}
		cmd = strings.ReplaceAll(cmd, ph, v)
	}
	return cmd
}

// docFixtures writes the files the examples read.
func docFixtures(t *testing.T, dir string) {
	t.Helper()
	interoptest.WriteFiles(t, dir, map[string][]byte{
		"record.pdf": []byte("%PDF-1.4 a medical record\n"),
		"result.pdf": []byte("%PDF-1.4 a laboratory result\n"),
		"big.iso":    bytes.Repeat([]byte("iso9660 "), 1<<18), // 2 MiB: sign hashes it locally
		"bsm.bin":    []byte("basic safety message"),
		"chips.csv":  []byte("chip_id,serial\n0000A001,SN1\n0000A002,SN2\n0000A003,SN3\n"),
		// a DNS query for www.example. A (RFC 1035 wire form)
		"zone.txt":  []byte("$ORIGIN example.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 3600 300 3600000 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.3\n"),
		"query.bin": []byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x00\x00\x01\x00\x01"),
	})
	interoptest.OpenSSL(t, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", "my-sm2.pem")
	interoptest.OpenSSL(t, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", "app.key")
	interoptest.OpenSSL(t, dir, "req", "-new", "-key", "app.key", "-sm3", "-subj", "/CN=app.example", "-out", "app.csr")
	interoptest.OpenSSL(t, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", "station.key")
	interoptest.OpenSSL(t, dir, "pkey", "-in", "station.key", "-pubout", "-out", "station.pem")
	interoptest.OpenSSL(t, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", "nurse.key")
	interoptest.OpenSSL(t, dir, "req", "-new", "-key", "nurse.key", "-sm3", "-sigopt", "distid:1234567812345678", "-subj", "/CN=nurse-1", "-out", "nurse.csr")
}

// TestDocExamples runs every command of the fenced sh examples of
// README.md and docs/*.md, file by file in the order written: README.md
// against a fresh server that its own examples initialise, each docs page
// against a fresh development server with the root token. Placeholders
// are filled from what earlier commands printed, and the server's address
// and data directory replace the documented ones (issue 13), and a fresh
// PostgreSQL database the one of docs/data.md. The commands
// it cannot run are in docSkips, with the reason; the log has the count.
func TestDocExamples(t *testing.T) {
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range append([]string{"../../README.md"}, files...) {
		name := strings.TrimPrefix(file, "../../")
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			dataDir := filepath.Join(dir, "data")
			witness := filepath.Join(dir, "witness.jsonl")
			env := map[string]string{"HOME": dir}
			var srv *server
			if name == "README.md" {
				srv = startServer(t, "--storage", "bolt", "--data-dir", dataDir, "--audit-witness", witness, "--audit-checkpoint-records", "20")
			} else {
				var root string
				srv, root = devServer(t)
				env["MIMA_ADDR"], env["MIMA_TOKEN"] = srv.addr, root
			}
			pairs := []string{"http://127.0.0.1:8200", srv.addr, "https://pki.example", srv.addr,
				"--data-dir /var/lib/mima", "--data-dir " + dataDir, "/mnt/witness/mima.jsonl", witness}
			if name == "docs/data.md" {
				// Its mima bulk examples work on a table of a fresh database.
				pairs = append(pairs, "postgres://postgres@127.0.0.1:5432/shop", pgtest.Database(t))
			}
			subst := strings.NewReplacer(pairs...)
			cmds, ran := runDocExamples(t, file, dir, env, subst)
			t.Logf("%s: %d commands, %d run", name, cmds, ran)
		})
	}
}

// runDocExamples runs the commands of file as TestDocExamples says, in a
// work directory under dir with the fixtures, and returns how many there
// are and how many ran.
func runDocExamples(t *testing.T, file, dir string, env map[string]string, subst *strings.Replacer) (int, int) {
	t.Helper()
	work, bin := filepath.Join(dir, "work"), filepath.Join(dir, "bin")
	for _, d := range []string{work, bin} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(binary, filepath.Join(bin, "mima")); err != nil {
		t.Fatal(err)
	}
	docFixtures(t, work)
	env["PATH"] = bin + ":" + os.Getenv("PATH")
	st := &docState{}
	cmds := docCommands(t, file)
	ran := 0
	for _, c := range cmds {
		if reason := skipReason(c); reason != "" {
			t.Logf("line %d not run (%s): %s", c.line, reason, c.text)
			continue
		}
		text := subst.Replace(c.text)
		run := docRun{times: 1, stdin: func(*docState, int) string { return "" }}
		for prefix, r := range docRuns {
			if strings.HasPrefix(text, prefix) {
				run = r
			}
		}
		for i := range run.times {
			cmd := st.fill(t, text)
			if exports, ok := strings.CutPrefix(cmd, "export "); ok {
				for _, kv := range strings.Fields(exports) {
					k, v, _ := strings.Cut(kv, "=")
					env[k] = v
				}
				continue
			}
			out := runDocCommand(t, work, env, cmd, run.stdin(st, i))
			if strings.HasPrefix(c.text, "mima operator init ") {
				for _, m := range regexp.MustCompile(`(?m)^Key share \d+\s+(\S+)`).FindAllStringSubmatch(out, -1) {
					st.shares = append(st.shares, m[1])
				}
			}
			st.transcript += out
		}
		ran++
	}
	return len(cmds), ran
}

// skipReason is why c is not run, or "".
func skipReason(c docCommand) string {
	for _, s := range docSkips {
		if strings.HasSuffix(c.file, "/"+s.file) && strings.HasPrefix(c.text, s.prefix) {
			return s.reason
		}
	}
	return ""
}

// runDocCommand runs one documented command with bash in dir, requires
// success and returns what it printed.
func runDocCommand(t *testing.T, dir string, env map[string]string, cmd, stdin string) string {
	t.Helper()
	c := exec.Command("bash", "-c", "set -eo pipefail\n"+cmd)
	c.Dir = dir
	for k, v := range env {
		c.Env = append(c.Env, k+"="+v)
	}
	c.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out.String())
	}
	return fmt.Sprintf("$ %s\n%s", cmd, out.String())
}

// TestDocLinksStayInTheRepository: every relative link of README.md and
// docs/*.md names a file of the repository (issue 13).
func TestDocLinksStayInTheRepository(t *testing.T) {
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	for _, f := range append(files, "../../README.md", "../../CHANGELOG.md") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path := filepath.Join(filepath.Dir(f), target)
			if rel, err := filepath.Rel("../..", path); err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("%s links %s, outside the repository", f, target)
				continue
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s links %s: %v", f, target, err)
			}
		}
	}
}
