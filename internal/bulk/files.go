package bulk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/mimacrypto/mima/internal/atomicfile"
)

// Checkpoint is the state a file job saves after every batch: the input
// rows done and the length of the output that holds them. A job that
// starts again cuts the output back to Offset and skips Rows input rows,
// so no row is done twice and none is skipped.
type Checkpoint struct {
	Op     Op     `json:"op"`
	Input  string `json:"input"`
	Output string `json:"output"`
	Rows   int64  `json:"rows"`
	Offset int64  `json:"offset"`
	Done   bool   `json:"done"`
}

// ReadCheckpoint reads a checkpoint file; a missing file is the zero
// checkpoint.
func ReadCheckpoint(path string) (Checkpoint, error) {
	var cp Checkpoint
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cp, nil
	}
	if err != nil {
		return cp, err
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		return cp, fmt.Errorf("bulk: checkpoint %s: %w", path, err)
	}
	return cp, nil
}

// save writes the checkpoint atomically: to a temporary file, synced,
// then renamed over the old one.
func (cp Checkpoint) save(path string) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b)
}

// Format is a file format.
type Format string

// The file formats.
const (
	CSV   Format = "csv"   // a header row names the columns
	JSONL Format = "jsonl" // one JSON object a line; protected fields are strings
)

// RunFile runs the job over the file in, writing out, resuming from the
// job's checkpoint.
func (j *Job) RunFile(ctx context.Context, format Format, in, out string) error {
	if err := j.defaults(); err != nil {
		return err
	}
	if j.Checkpoint == "" {
		return errors.New("bulk: a file job needs a checkpoint file")
	}
	cp, err := ReadCheckpoint(j.Checkpoint)
	if err != nil {
		return err
	}
	if cp.Input != "" && (cp.Input != in || cp.Output != out || cp.Op != j.Op) {
		return fmt.Errorf("bulk: the checkpoint %s is of %s %s → %s; remove it to start another job", j.Checkpoint, cp.Op, cp.Input, cp.Output)
	}
	if cp.Done {
		return nil
	}
	cp.Op, cp.Input, cp.Output = j.Op, in, out
	src, err := os.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(out, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := dst.Truncate(cp.Offset); err != nil {
		return err
	}
	if _, err := dst.Seek(cp.Offset, io.SeekStart); err != nil {
		return err
	}
	var rd reader
	switch format {
	case CSV:
		rd, err = j.newCSV(src, dst, cp.Offset == 0)
	case JSONL:
		rd, err = newJSONL(src, dst), nil
	default:
		err = fmt.Errorf("bulk: unknown file format %q (csv, jsonl)", format)
	}
	if err != nil {
		return err
	}
	for range cp.Rows {
		if _, err := rd.next(); err != nil {
			return fmt.Errorf("bulk: the input has fewer rows than the checkpoint says done: %w", err)
		}
	}
	start, done := j.now(), int64(0)
	for {
		batch, eof, err := readBatch(rd, j.Batch)
		if err != nil {
			return err
		}
		if err := j.transformAll(ctx, batch); err != nil {
			return err
		}
		for _, r := range batch {
			if err := rd.write(r); err != nil {
				return err
			}
		}
		if err := rd.flush(); err != nil {
			return err
		}
		if err := dst.Sync(); err != nil {
			return err
		}
		if err := j.at("written"); err != nil {
			return err
		}
		if cp.Offset, err = dst.Seek(0, io.SeekCurrent); err != nil {
			return err
		}
		cp.Rows += int64(len(batch))
		done += int64(len(batch))
		cp.Done = eof
		if err := cp.save(j.Checkpoint); err != nil {
			return err
		}
		j.report(start, done, cp.Rows, 0, eof)
		if err := j.at("checkpointed"); err != nil || eof {
			return err
		}
		if err := j.pace(ctx, start, done); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

func readBatch(rd reader, n int) ([]row, bool, error) {
	batch := make([]row, 0, n)
	for len(batch) < n {
		r, err := rd.next()
		if err == io.EOF {
			return batch, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		batch = append(batch, r)
	}
	return batch, false, nil
}

// reader reads rows of one format and writes them back.
type reader interface {
	next() (row, error)
	write(row) error
	flush() error
}

type csvFile struct {
	r      *csv.Reader
	w      *csv.Writer
	header []string
	index  map[string]int
}

type csvRow struct {
	f   *csvFile
	rec []string
}

func (r csvRow) get(col string) (string, bool) {
	i, ok := r.f.index[col]
	if !ok || i >= len(r.rec) {
		return "", false
	}
	return r.rec[i], true
}

func (r csvRow) set(col, v string) { r.rec[r.f.index[col]] = v }

// newCSV reads the header, adds the blind index columns it lacks and, for
// a fresh output, writes it.
func (j *Job) newCSV(src io.Reader, dst io.Writer, writeHeader bool) (*csvFile, error) {
	f := &csvFile{r: csv.NewReader(bufio.NewReaderSize(src, 1<<20)), w: csv.NewWriter(bufio.NewWriterSize(dst, 1<<20))}
	f.r.ReuseRecord = false
	header, err := f.r.Read()
	if err != nil {
		return nil, fmt.Errorf("bulk: the CSV header: %w", err)
	}
	for _, fl := range j.To.Fields {
		if fl.IndexColumn != "" && !slices.Contains(header, fl.IndexColumn) {
			header = append(header, fl.IndexColumn)
		}
	}
	f.header = header
	f.index = map[string]int{}
	for i, h := range header {
		f.index[h] = i
	}
	f.r.FieldsPerRecord = -1
	if writeHeader {
		if err := f.w.Write(header); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (f *csvFile) next() (row, error) {
	rec, err := f.r.Read()
	if err != nil {
		return nil, err
	}
	for len(rec) < len(f.header) {
		rec = append(rec, "")
	}
	return csvRow{f, rec}, nil
}

func (f *csvFile) write(r row) error { return f.w.Write(r.(csvRow).rec) }

func (f *csvFile) flush() error {
	f.w.Flush()
	return f.w.Error()
}

type jsonlFile struct {
	r *bufio.Reader
	w *bufio.Writer
}

type jsonlRow map[string]any

func (r jsonlRow) get(col string) (string, bool) {
	v, ok := r[col].(string)
	return v, ok
}

func (r jsonlRow) set(col, v string) { r[col] = v }

func newJSONL(src io.Reader, dst io.Writer) *jsonlFile {
	return &jsonlFile{r: bufio.NewReaderSize(src, 1<<20), w: bufio.NewWriterSize(dst, 1<<20)}
}

func (f *jsonlFile) next() (row, error) {
	for {
		line, err := f.r.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			return nil, err
		}
		if len(slices.DeleteFunc(slices.Clone(line), func(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' })) == 0 {
			continue
		}
		var r jsonlRow
		d := json.NewDecoder(bytes.NewReader(line))
		d.UseNumber()
		if err := d.Decode(&r); err != nil {
			return nil, fmt.Errorf("bulk: a JSON Lines row is not an object: %w", err)
		}
		return r, nil
	}
}

func (f *jsonlFile) write(r row) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := f.w.Write(append(b, '\n')); err != nil {
		return err
	}
	return nil
}

func (f *jsonlFile) flush() error { return f.w.Flush() }
