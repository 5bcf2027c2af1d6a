package cli

import (
	"strings"
	"testing"
)

// TestMediaRelayRefusesBadArguments: an unknown --format is refused with
// a clear error before mima is asked for a key (the server here answers
// nothing).
func TestMediaRelayRefusesBadArguments(t *testing.T) {
	t.Setenv("MIMA_ADDR", "http://127.0.0.1:1")
	t.Setenv("MIMA_TOKEN", "mima.acc.token")
	code, _, errOut := run(t, "", "media", "relay", "--key", "cam", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--format", "mp4")
	if code == 0 || !strings.Contains(errOut, `--format is ts or rtp, not "mp4"`) {
		t.Fatalf("--format mp4: exit %d, %q", code, errOut)
	}
}
