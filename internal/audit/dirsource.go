package audit

import (
	"context"
	"path/filepath"
)

// dirSource reads a FileSink directory without opening it for writing.
type dirSource string

// DirSource returns a read-only Source over a FileSink directory, for
// offline verification and export. It never modifies the directory, so it
// is safe to use while a server is writing there; a torn final line is
// skipped.
func DirSource(dir string) Source { return dirSource(dir) }

// Scan calls fn with every complete line of dir/audit.log.
func (d dirSource) Scan(ctx context.Context, fn func(line []byte) error) error {
	return scanFile(ctx, filepath.Join(string(d), LogFile), -1, fn)
}

// LoadCheckpoint returns the content of dir/checkpoint.json, or nil.
func (d dirSource) LoadCheckpoint(context.Context) ([]byte, error) {
	return readCheckpoint(string(d))
}
