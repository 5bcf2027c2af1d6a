//go:build !unix

package audit

import "os"

// lockFile does nothing where flock is missing; one process per log is
// then the operator's duty.
func lockFile(*os.File) error { return nil }
