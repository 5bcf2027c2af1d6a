package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/internal/server"
)

// buildInfo is what `mima version` reports.
type buildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Go      string `json:"go"`
}

// build returns the version, the VCS commit the binary was built from
// ("unknown" when the build did not record it; "-dirty" when the tree had
// changes) and the Go version.
func build() buildInfo {
	b := buildInfo{Version: server.Version, Commit: "unknown", Go: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	dirty := ""
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision":
			b.Commit = s.Value
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "-dirty"
		}
	}
	b.Commit += dirty
	return b
}

// versionLine is the one line `mima --version` prints after "mima ".
func versionLine() string {
	b := build()
	return fmt.Sprintf("%s (commit %s, %s)", b.Version, b.Commit, b.Go)
}

func (e *env) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit and the Go version of this binary",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			b := build()
			return e.print(b, func(w io.Writer) { fmt.Fprintf(w, "mima %s\n", versionLine()) })
		},
	}
}
