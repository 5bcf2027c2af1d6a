package audit

import (
	"bufio"
	"context"
	"fmt"
	"io"
)

// Export writes every record of src to w as JSON lines, oldest first: a
// record stored as JSON exactly as stored, a compact one as its JSON form
// (see JSONLine). VerifyReader verifies what it writes.
func Export(ctx context.Context, w io.Writer, src Source) error {
	bw := bufio.NewWriter(w)
	err := src.Scan(ctx, func(line []byte) error {
		line, err := JSONLine(line)
		if err != nil {
			return err
		}
		bw.Write(line)
		return bw.WriteByte('\n')
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	return nil
}
