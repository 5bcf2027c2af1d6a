package postgres

import (
	"context"
	"math"

	"github.com/mimacrypto/mima/internal/audit"
)

var _ audit.SeqScanner = auditSource{}

// ScanAfter calls fn with every line of the chain after record seq, in
// order, so that a search's later pages start at their cursor.
func (s auditSource) ScanAfter(ctx context.Context, seq uint64, fn func(line []byte) error) error {
	return s.scanRange(ctx, seq+1, math.MaxInt64, fn)
}
