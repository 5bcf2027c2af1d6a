// Package interoptest runs the peers that tests prove interoperability
// against: OpenSSL 3, and (in the packages that need them) Node.js with
// sm-crypto and Java with BouncyCastle. It is imported by tests only.
package interoptest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// OpenSSL runs the openssl command in dir and returns its standard output.
// It skips the test when OpenSSL is not installed and fails it when the
// command fails.
func OpenSSL(t testing.TB, dir string, args ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed; scripts/test installs it")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// WriteFiles writes each named file into dir.
func WriteFiles(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// bcJars are the BouncyCastle jars of Debian's libbcprov-java and
// libbcpkix-java.
var bcJars = []string{"/usr/share/java/bcprov.jar", "/usr/share/java/bcpkix.jar", "/usr/share/java/bcutil.jar"}

// Java runs Java programs with BouncyCastle on the class path.
type Java struct{ javac, java string }

// BouncyCastle returns the Java runner, skipping the test without javac,
// java or the BouncyCastle jars.
func BouncyCastle(t testing.TB) Java {
	t.Helper()
	javac, err1 := exec.LookPath("javac")
	java, err2 := exec.LookPath("java")
	if err1 != nil || err2 != nil {
		t.Skip("javac and java are not installed; scripts/test installs them")
	}
	for _, j := range bcJars {
		if _, err := os.Stat(j); err != nil {
			t.Skipf("%s is missing; scripts/test installs BouncyCastle", j)
		}
	}
	return Java{javac: javac, java: java}
}

// Run compiles source, runs its class main with args and returns the
// output; it fails the test when either fails.
func (j Java) Run(t testing.TB, source, main string, args ...string) string {
	t.Helper()
	classes := t.TempDir()
	cp := strings.Join(bcJars, string(os.PathListSeparator))
	run := func(bin string, args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run(j.javac, "-cp", cp, "-d", classes, source)
	return run(j.java, append([]string{"-cp", classes + string(os.PathListSeparator) + cp, main}, args...)...)
}
