package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mimacrypto/mima/sdk"
)

// binary is the mima executable built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mima-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "mima")
	build := exec.Command("go", "build", "-o", binary, "github.com/mimacrypto/mima/cmd/mima")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building mima:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running `mima server` (or `mima gateway`) process.
type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string        // http://host:port
	banner []string      // the lines printed before the address
	exited chan struct{} // closed when the process has exited
	err    error         // its exit status, once exited
}

// startServer runs `mima server` with args (plus --addr 127.0.0.1:0) and
// waits for the line that names its address.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	return startProcess(t, append([]string{"server", "--addr", "127.0.0.1:0"}, args...)...)
}

// startProcess runs mima with args and waits for the line that names the
// address it listens on.
func startProcess(t *testing.T, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = os.Environ()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, exited: make(chan struct{})}
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if _, addr, ok := strings.Cut(lines.Text(), " listening on "); ok {
			s.addr = addr
			break
		}
		s.banner = append(s.banner, lines.Text())
	}
	if s.addr == "" {
		_ = cmd.Wait()
		t.Fatalf("server did not start: %s", stderr.String())
	}
	go func() {
		_, _ = io.Copy(io.Discard, stdout)
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() { s.kill() })
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	<-s.exited
	if s.err != nil {
		s.t.Fatalf("server exited with %v", s.err)
	}
}

// kill sends SIGKILL (a crash) and waits for the process to go.
func (s *server) kill() {
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func (s *server) client(t *testing.T, token string) *sdk.Client {
	t.Helper()
	c, err := sdk.New(s.addr, sdk.WithToken(token))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// result is the outcome of one CLI run.
type result struct {
	code   int
	stdout string
	stderr string
}

// cli runs the mima CLI against addr with token.
func cli(t *testing.T, addr, token string, args ...string) result {
	t.Helper()
	return cliIn(t, addr, token, "", args...)
}

// cliIn runs the mima CLI with stdin as its standard input.
func cliIn(t *testing.T, addr, token, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "MIMA_ADDR="+addr, "MIMA_TOKEN="+token)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// cliJSON runs the CLI with --format json, requires success and decodes
// its output into v.
func cliJSON(t *testing.T, addr, token string, v any, args ...string) {
	t.Helper()
	r := cli(t, addr, token, append(args, "--format", "json")...)
	if r.code != 0 {
		t.Fatalf("mima %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("mima %s: %v in %q", strings.Join(args, " "), err, r.stdout)
	}
}

// pkixName is a distinguished name with just a common name.
func pkixName(cn string) pkix.Name { return pkix.Name{CommonName: cn} }
