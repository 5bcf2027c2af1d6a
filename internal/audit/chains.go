package audit

import (
	"context"
	"net/url"
	"path/filepath"
	"time"
)

// ChainStore is implemented by storage backends that several nodes share
// and that keep every node's audit chain themselves (the PostgreSQL
// backend). A server finds it on its storage backend by type assertion,
// as it finds storage.Watcher and storage.Locker, and then keeps its
// chain there instead of in files.
type ChainStore interface {
	// AuditSink opens node's chain for appending. One running node at a
	// time may hold a chain; the sink releases it at Close.
	AuditSink(ctx context.Context, node string, cfg ChainConfig) (Sink, error)
	// AuditSource reads node's chain, for verification, search and export.
	AuditSource(node string) Source
	// AuditNodes lists the nodes that have a chain.
	AuditNodes(ctx context.Context) ([]string, error)
}

// ChainConfig is how a ChainStore keeps a node's chain; the zero value
// keeps every record with the default segment limits.
type ChainConfig struct {
	// SegmentMaxBytes and SegmentMaxAge seal a segment at the first
	// checkpoint after it holds SegmentMaxBytes, or once SegmentMaxAge
	// (the span of the store's partitions) has passed; 0 means
	// DefaultSegmentMaxBytes and DefaultSegmentMaxAge.
	SegmentMaxBytes int64
	SegmentMaxAge   time.Duration
	// Archiver, when set, receives every sealed segment; then the store
	// drops the records of segments archived and older than Retention
	// (0 keeps them all).
	Archiver  ChainArchiver
	Retention time.Duration
	// Now is the clock of segments and retention (default time.Now).
	Now func() time.Time
	// OnError receives failures of the background archiving.
	OnError func(error)
}

// ChainArchiver keeps the sealed segments of the nodes' chains outside a
// ChainStore, in the segment format of a FileSink directory.
type ChainArchiver interface {
	// Archive stores segment e of node's chain, whose record lines scan
	// passes to fn in order, and returns once it is durable and verified
	// where it is kept. Archiving a segment again is a no-op.
	Archive(ctx context.Context, node string, e SegmentInfo, scan func(fn func(line []byte) error) error) error
}

// ChainArchiveDir archives each node's segments under dir/<node> with
// WriteSegment.
func ChainArchiveDir(dir string) ChainArchiver { return chainArchiveDir(dir) }

type chainArchiveDir string

func (d chainArchiveDir) Archive(ctx context.Context, node string, e SegmentInfo, scan func(fn func(line []byte) error) error) error {
	return WriteSegment(ctx, filepath.Join(string(d), url.PathEscape(node)), e, scan)
}
