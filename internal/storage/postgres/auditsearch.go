package postgres

import (
	"context"

	"github.com/mimacrypto/mima/internal/audit"
)

var _ audit.SeqScanner = auditSource{}

// ScanAfter calls fn with every line of the chain after record seq, in
// order, so that a search's later pages start at their cursor.
func (s auditSource) ScanAfter(ctx context.Context, seq uint64, fn func(line []byte) error) error {
	rows, err := s.b.pool.Query(ctx, `SELECT line FROM mima_audit WHERE node = $1 AND seq > $2 ORDER BY seq`, s.node, int64(seq))
	if err != nil {
		return unavailable(err)
	}
	defer rows.Close()
	for rows.Next() {
		var line []byte
		if err := rows.Scan(&line); err != nil {
			return unavailable(err)
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return unavailable(err)
	}
	return nil
}
