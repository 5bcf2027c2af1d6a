// Package softhsmtest makes SoftHSM2 tokens for tests: in a temporary
// directory with a configuration of its own that SOFTHSM2_CONF points at,
// never in the system's token directory. SoftHSM2 reads its configuration
// and finds its tokens when the module is initialised, so a test package
// makes every token it needs in TestMain, before the first device opens.
// scripts/test installs SoftHSM2 (Debian package softhsm2) and sets
// MIMA_REQUIRE_SOFTHSM=1, so that tests fail rather than skip without it.
package softhsmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The PINs of every token Setup makes.
const (
	PIN   = "1234"
	SOPIN = "5678"
)

// Libraries are where Debian and its derivatives put the SoftHSM2 module.
var Libraries = []string{"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"}

// Setup makes a token directory under a new temporary directory, points
// SOFTHSM2_CONF at a configuration naming it and initialises one token per
// label with PIN and SOPIN. It returns the module's path and a function
// that removes the directory; lib is "" when SoftHSM2 is not installed.
func Setup(labels ...string) (lib string, cleanup func(), err error) {
	cleanup = func() {}
	for _, l := range Libraries {
		if _, err := os.Stat(l); err == nil {
			lib = l
			break
		}
	}
	util, uerr := exec.LookPath("softhsm2-util")
	if lib == "" || uerr != nil {
		return "", cleanup, nil
	}
	dir, err := os.MkdirTemp("", "mima-softhsm-")
	if err != nil {
		return "", cleanup, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	tokens := filepath.Join(dir, "tokens")
	conf := filepath.Join(dir, "softhsm2.conf")
	body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.Mkdir(tokens, 0o700); err != nil {
		return "", cleanup, err
	}
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return "", cleanup, err
	}
	if err := os.Setenv("SOFTHSM2_CONF", conf); err != nil {
		return "", cleanup, err
	}
	for _, label := range labels {
		out, err := exec.Command(util, "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", SOPIN).CombinedOutput()
		if err != nil {
			return "", cleanup, fmt.Errorf("softhsm2-util --init-token %s: %v: %s", label, err, out)
		}
	}
	return lib, cleanup, nil
}

// Require skips the test when lib is "" (SoftHSM2 is not installed), or
// fails it when MIMA_REQUIRE_SOFTHSM=1.
func Require(tb testing.TB, lib string) {
	tb.Helper()
	if lib != "" {
		return
	}
	if os.Getenv("MIMA_REQUIRE_SOFTHSM") == "1" {
		tb.Fatal("SoftHSM2 is required (MIMA_REQUIRE_SOFTHSM=1) but softhsm2-util or libsofthsm2.so is missing: apt-get install softhsm2")
	}
	tb.Skip("SoftHSM2 is not installed (apt-get install softhsm2)")
}
