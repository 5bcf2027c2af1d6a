package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// CursorFile is the name of the export cursor in a FileSink directory.
const CursorFile = "export.json"

// Destination receives exported records.
type Destination interface {
	// Send delivers lines, records as stored, in order. nil means the
	// receiver has every one of them; after an error the exporter sends
	// them again.
	Send(ctx context.Context, lines [][]byte) error
}

// Cursor is the seq of the last record an exporter delivered, kept in a
// file so that export resumes where it stopped after a restart.
type Cursor struct {
	dir string
	seq atomic.Uint64
}

// cursorState is the content of the cursor file.
type cursorState struct {
	Seq uint64 `json:"seq"`
}

// OpenCursor reads the cursor kept in dir/export.json; it starts at 0
// (nothing delivered) when there is none.
func OpenCursor(dir string) (*Cursor, error) {
	c := &Cursor{dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, CursorFile))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	var st cursorState
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		return nil, fmt.Errorf("audit: export cursor: %w", err)
	}
	c.seq.Store(st.Seq)
	return c, nil
}

// Seq returns the seq of the last record delivered.
func (c *Cursor) Seq() uint64 { return c.seq.Load() }

// save durably moves the cursor to seq.
func (c *Cursor) save(seq uint64) error {
	b, _ := json.Marshal(cursorState{Seq: seq}) // cannot fail
	if err := writeFileAtomic(c.dir, CursorFile, append(b, '\n')); err != nil {
		return err
	}
	c.seq.Store(seq)
	return nil
}

// Export timing: how often an idle exporter looks for new records, and the
// bounds of its wait after a failure.
const (
	exportPoll       = 250 * time.Millisecond
	exportRetryFirst = 100 * time.Millisecond
	exportRetryMax   = 10 * time.Second
	exportBatch      = 2048
)

// Exporter streams the records of a FileSink to a Destination at least
// once and in order: it reads them from the segments, never from the
// request path, so a slow or absent receiver only makes it fall behind
// (see Lag); records wait in the segments, which retention keeps until
// they are delivered (pass Cursor.Seq to WithRetention).
type Exporter struct {
	sink    *FileSink
	dest    Destination
	cursor  *Cursor
	onError func(error)
	fl      *follower // nil: start again after the cursor
	failed  atomic.Uint64
}

// NewExporter returns an exporter of sink's records after cursor to dest;
// onError (nil: ignored) receives each failed delivery before it is tried
// again.
func NewExporter(sink *FileSink, cursor *Cursor, dest Destination, onError func(error)) *Exporter {
	if onError == nil {
		onError = func(error) {}
	}
	return &Exporter{sink: sink, dest: dest, cursor: cursor, onError: onError}
}

// Step delivers the next batch of records, if any, and moves the cursor
// past it; it returns how many records it delivered. After a failure the
// next Step starts again after the cursor.
func (x *Exporter) Step(ctx context.Context) (int, error) {
	if x.fl == nil {
		x.fl = x.sink.follow(x.cursor.Seq() + 1)
		x.fl.onGap = func(from, to uint64) {
			x.onError(fmt.Errorf("audit: export: records %d to %d were removed by retention before export (it was off); they are in the archive", from, to))
		}
	}
	lines, err := x.fl.read(ctx, exportBatch)
	for i := 0; err == nil && i < len(lines); i++ {
		lines[i], err = JSONLine(lines[i])
	}
	if err == nil && len(lines) > 0 {
		err = x.dest.Send(ctx, lines)
	}
	if err == nil && len(lines) > 0 {
		err = x.cursor.save(x.fl.next - 1)
	}
	if err != nil {
		x.fl.close()
		x.fl = nil
		x.failed.Add(1)
		return 0, fmt.Errorf("audit: export: %w", err)
	}
	return len(lines), nil
}

// Run exports until ctx ends: it sends each batch as soon as it is
// durable, looks for new records every 250ms when idle, and after a
// failure waits from 100ms, doubling up to 10s, before trying again.
func (x *Exporter) Run(ctx context.Context) {
	defer func() {
		if x.fl != nil {
			x.fl.close()
		}
	}()
	backoff := time.Duration(0)
	for {
		n, err := x.Step(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := exportPoll
		switch {
		case err != nil:
			x.onError(err)
			backoff = min(max(2*backoff, exportRetryFirst), exportRetryMax)
			wait = backoff
		case n > 0:
			backoff = 0
			continue
		default:
			backoff = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Failures counts the deliveries that failed (and were tried again).
func (x *Exporter) Failures() uint64 { return x.failed.Load() }

// Lag is how many records are in the log and not yet delivered.
func (x *Exporter) Lag() uint64 {
	last, err := x.sink.Last(context.Background())
	if err != nil || last == nil {
		return 0
	}
	r, err := ParseRecord(last)
	if err != nil {
		return 0
	}
	return r.Seq - min(r.Seq, x.cursor.Seq())
}
