package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"
)

// Names inside a FileSink directory that belong to segments.
const (
	ManifestFile = "manifest.json"
	SegmentDir   = "segments"
	// segmentMagic names the header line that starts every segment but
	// the first one of a log written before segments existed.
	segmentMagic = "mima/audit/segment/v1"
	zstdExt      = ".zst"
)

// Segment statuses in the manifest.
const (
	// StatusSealed means the segment is closed and stored uncompressed.
	StatusSealed = "sealed"
	// StatusCompressed means the segment is stored zstd-compressed.
	StatusCompressed = "compressed"
)

// Manifest lists the sealed segments of a FileSink directory, oldest first.
type Manifest struct {
	Segments []SegmentInfo `json:"segments"`
}

// SegmentInfo describes one sealed segment. Checkpoint is the signed
// checkpoint record that closes it, so each entry is signed and the chain
// across segments verifies from the manifest alone: every segment's prev is
// the hash of the checkpoint closing the one before.
type SegmentInfo struct {
	File       string          `json:"file"` // name under segments/
	Status     string          `json:"status"`
	FirstSeq   uint64          `json:"first_seq"`
	LastSeq    uint64          `json:"last_seq"`
	Prev       string          `json:"prev"`
	FirstTime  string          `json:"first_time"`
	LastTime   string          `json:"last_time"`
	Bytes      int64           `json:"bytes"` // size of File
	Checkpoint json.RawMessage `json:"checkpoint"`
	// Verified is set by the background verification after sealing.
	Verified *SegmentCheck `json:"verified,omitempty"`
	// Archived is when the segment's archived copy was verified, "" until
	// then (see Archiver).
	Archived string `json:"archived,omitempty"`
}

// SegmentCheck is the result of verifying one segment on its own.
type SegmentCheck struct {
	Time   string `json:"time"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}

// segmentHeader is the first line of a segment: where its chain starts.
type segmentHeader struct {
	Segment  string `json:"segment"`
	FirstSeq uint64 `json:"first_seq"`
	Prev     string `json:"prev"`
}

// encodeHeader returns the header line of a segment whose first record is
// seq and links to prev.
func encodeHeader(seq uint64, prev string) []byte {
	line, _ := json.Marshal(segmentHeader{Segment: segmentMagic, FirstSeq: seq, Prev: prev}) // cannot fail
	return line
}

// parseHeader returns the header in line, or ok false when line is a record
// (a log written before segments existed has no header).
func parseHeader(line []byte) (h segmentHeader, ok bool, err error) {
	if !bytes.HasPrefix(line, []byte(`{"segment":`)) {
		return h, false, nil
	}
	if err := json.Unmarshal(line, &h); err != nil || h.Segment != segmentMagic || h.FirstSeq == 0 || !isHash(h.Prev) {
		return h, true, fmt.Errorf("%w: bad segment header", ErrMalformed)
	}
	return h, true, nil
}

// readManifest returns the manifest of dir; an empty one when there is
// none (a log written before segments existed, or nothing sealed yet).
func readManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		return m, fmt.Errorf("audit: read manifest: %w", err)
	}
	return m, nil
}

// writeManifest atomically replaces the manifest of dir.
func writeManifest(dir string, m Manifest) error { return writeManifestAs(dir, ManifestFile, m) }

// writeManifestAs atomically replaces dir/name with m.
func writeManifestAs(dir, name string, m Manifest) error {
	b, err := json.Marshal(m) // not indented: that would re-indent the checkpoint records
	if err != nil {
		return fmt.Errorf("audit: encode manifest: %w", err)
	}
	return writeFileAtomic(dir, name, append(b, '\n'))
}

// ReadManifest returns the manifest of a FileSink directory.
func ReadManifest(dir string) (Manifest, error) { return readManifest(dir) }

// segmentName is the file name of a sealed segment starting at seq.
func segmentName(seq uint64) string { return fmt.Sprintf("%020d.log", seq) }

// openSegment opens a stored segment, decompressing a zstd one. It finds
// the file under either name, since the background job may have compressed
// it after the manifest was read.
func openSegment(dir string, s SegmentInfo) (io.ReadCloser, error) {
	path := filepath.Join(dir, SegmentDir, s.File)
	alt := path + zstdExt
	if filepath.Ext(path) == zstdExt {
		alt = path[:len(path)-len(zstdExt)]
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		path = alt
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, fmt.Errorf("audit: open segment: %w", err)
	}
	if filepath.Ext(path) != zstdExt {
		return f, nil
	}
	zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: open segment: %w", err)
	}
	return zstdFile{zr, f}, nil
}

// zstdFile closes both the decoder and the file under it.
type zstdFile struct {
	*zstd.Decoder
	f *os.File
}

func (z zstdFile) Close() error {
	z.Decoder.Close()
	return z.f.Close()
}

// scanSegment calls fn with every record line of a segment read from r,
// after checking its header, if any, against want (zero: unchecked).
func scanSegment(ctx context.Context, r io.Reader, want segmentHeader, fn func(line []byte) error) error {
	first := true
	return scanLines(ctx, r, func(line []byte) error {
		if first {
			first = false
			h, ok, err := parseHeader(line)
			if err != nil {
				return err
			}
			if ok {
				if want.FirstSeq != 0 && (h.FirstSeq != want.FirstSeq || h.Prev != want.Prev) {
					return fmt.Errorf("%w: segment header does not match the manifest", ErrMalformed)
				}
				return nil
			}
		}
		return fn(line)
	})
}

// compressSegment writes path+".zst" (atomically) from the segment at path.
func compressSegment(path string) (int64, error) {
	in, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	tmp := path + zstdExt + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp)
	bw := bufio.NewWriterSize(out, 1<<20)
	zw, err := zstd.NewWriter(bw, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderConcurrency(1))
	if err == nil {
		_, err = io.Copy(zw, in)
		err = errors.Join(err, zw.Close())
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = out.Sync()
	}
	err = errors.Join(err, out.Close())
	if err != nil {
		return 0, err
	}
	info, err := os.Stat(tmp)
	if err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, path+zstdExt); err != nil {
		return 0, err
	}
	return info.Size(), syncDir(filepath.Dir(path))
}

// verifySegment checks one sealed segment on its own, from its manifest
// entry: its header, its chain from e.Prev, its checkpoints, and that it
// ends with e.Checkpoint. v starts at e.Prev.
func verifySegment(ctx context.Context, dir string, e SegmentInfo, v *verifier) error {
	rc, err := openSegment(dir, e)
	if err != nil {
		return err
	}
	defer rc.Close()
	err = scanSegment(ctx, rc, segmentHeader{FirstSeq: e.FirstSeq, Prev: e.Prev}, v.add)
	switch {
	case errors.Is(err, ErrMalformed):
		return v.fail(e.FirstSeq, ReasonMalformed+": segment header")
	case err != nil:
		return err
	case v.seq != e.LastSeq || v.rep.LastCheckpointSeq != e.LastSeq:
		return v.fail(v.seq+1, fmt.Sprintf("%s: segment ends at record %d, the manifest says %d", ReasonTruncated, v.seq, e.LastSeq))
	case v.head() != checkpointHash(e):
		return v.fail(e.LastSeq, ReasonExternal)
	}
	return nil
}

// checkpointHash returns the hash of the checkpoint closing e, "" when it
// does not parse.
func checkpointHash(e SegmentInfo) string {
	cp, err := ParseRecord(e.Checkpoint)
	if err != nil {
		return ""
	}
	return cp.Hash
}
