package audit

import (
	"bufio"
	"context"
	"fmt"
	"io"
)

// Export writes every record of src to w as JSON lines, exactly as stored,
// oldest first.
func Export(ctx context.Context, w io.Writer, src Source) error {
	bw := bufio.NewWriter(w)
	err := src.Scan(ctx, func(line []byte) error {
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
