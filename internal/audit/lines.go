package audit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
)

// MaxLineSize is the largest record line the logger writes and the readers
// accept, in bytes without the '\n'.
const MaxLineSize = 1 << 20

// ErrLineTooLong is returned when a stored line exceeds MaxLineSize.
var ErrLineTooLong = errors.New("audit: record line too long")

// scanLines calls fn with each '\n'-terminated line of r, without the '\n'.
// Bytes after the last '\n' are a torn write that was never acknowledged and
// are ignored.
func scanLines(ctx context.Context, r io.Reader, fn func(line []byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			long = append(long, chunk...)
			if len(long) > MaxLineSize {
				return ErrLineTooLong
			}
			continue
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		}
		line := chunk[:len(chunk)-1]
		if long != nil {
			long = append(long, line...)
			line, long = long, nil
		}
		if len(line) > MaxLineSize {
			return ErrLineTooLong
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(line); err != nil {
			return err
		}
	}
}

// lastNewline returns the offset of the last '\n' in r before offset end,
// or -1 when there is none.
func lastNewline(r io.ReaderAt, end int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end > 0 {
		start := max(end-int64(len(buf)), 0)
		chunk := buf[:end-start]
		if _, err := r.ReadAt(chunk, start); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return start + int64(i), nil
		}
		end = start
	}
	return -1, nil
}
