// Package interop runs the peers that tests prove interoperability
// against: OpenSSL 3, and (in the packages that need them) Node.js with
// sm-crypto and Java with BouncyCastle. It is imported by tests only.
package interop

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
