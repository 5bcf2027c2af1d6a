//go:build !cgo

package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// dbproxyCommand is "mima dbproxy", which parses SQL with PostgreSQL's
// own grammar (pg_query, C): a build without cgo lacks it.
func (e *env) dbproxyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "dbproxy",
		Short: "PostgreSQL proxy with column encryption (needs a build with cgo)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("mima dbproxy needs a build with cgo (a C compiler): PostgreSQL's SQL parser is C")
		},
	}
}
