package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// StatusArchived means the segment's file has left the directory by
// retention: it is kept only in the archive. Its manifest entry stays, so
// the chain across segments still verifies from the manifest.
const StatusArchived = "archived"

// archiveManifest is the file a FileSink writes to hand the archive its
// manifest.
const archiveManifest = "archive-manifest.json"

// Archiver keeps sealed segments somewhere else: another disk, another
// system. An archive holds what a FileSink directory holds for its sealed
// segments, segments/<file> and manifest.json, so VerifyArchive checks it
// offline.
type Archiver interface {
	// Put durably stores the file at path in the archive as name, which
	// is "segments/<file>" or "manifest.json".
	Put(ctx context.Context, name, path string) error
	// Check verifies the archived copy of segment e and fails unless it is
	// intact.
	Check(ctx context.Context, e SegmentInfo) error
}

// WithArchive copies every sealed segment, once it is compressed and
// verified, to a, oldest first, and lists it in the archive's manifest.
func WithArchive(a Archiver) SinkOption { return func(c *sinkConfig) { c.archive = a } }

// WithRetention removes a segment's file from the directory once its last
// record is older than d, its archived copy is verified, and hold (nil:
// none) returns at least its last seq, as an exporter's cursor does. It
// needs WithArchive: nothing is deleted that is not archived.
func WithRetention(d time.Duration, hold func() uint64) SinkOption {
	return func(c *sinkConfig) { c.retention, c.hold = d, hold }
}

// DirArchiver archives to a directory, typically on another disk.
type DirArchiver struct{ dir string }

// NewDirArchiver returns an archiver writing under dir, which it creates.
func NewDirArchiver(dir string) (*DirArchiver, error) {
	if err := os.MkdirAll(filepath.Join(dir, SegmentDir), 0o700); err != nil {
		return nil, fmt.Errorf("audit: archive: %w", err)
	}
	return &DirArchiver{dir: dir}, nil
}

// Put copies path to dir/name, atomically and fsynced.
func (a *DirArchiver) Put(ctx context.Context, name, path string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := copyFileAtomic(filepath.Join(a.dir, name), path); err != nil {
		return fmt.Errorf("audit: archive %s: %w", name, err)
	}
	return nil
}

// copyFileAtomic copies src to dst so that after a crash dst is either
// absent (or its old content) or a complete, durable copy.
func copyFileAtomic(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if err = errors.Join(err, out.Close()); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dst))
}

// Check verifies the archived copy of e on its own, as the background job
// verifies the sealed segment.
func (a *DirArchiver) Check(ctx context.Context, e SegmentInfo) error {
	return checkSegment(ctx, a.dir, e)
}

// CommandArchiver hands each file to a shell command, as PostgreSQL's
// archive_command: %p is replaced by the file's absolute path, %f by its
// name in the archive (segments/<file> or manifest.json) and %% by %. Exit
// status 0 must mean the copy is durable and checked: the command's word is
// the only check of its archive.
type CommandArchiver struct{ command string }

// NewCommandArchiver returns an archiver running command with sh -c.
func NewCommandArchiver(command string) *CommandArchiver {
	return &CommandArchiver{command: command}
}

// Put runs the command for path and name.
func (a *CommandArchiver) Put(ctx context.Context, name, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("audit: archive command: %w", err)
	}
	line := strings.NewReplacer("%p", abs, "%f", name, "%%", "%").Replace(a.command)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("audit: archive command for %s: %w: %s", name, err, bytes.TrimSpace(limit(stderr.Bytes(), 512)))
	}
	return nil
}

// Check trusts the command's exit status.
func (a *CommandArchiver) Check(context.Context, SegmentInfo) error { return nil }

// limit returns at most n bytes of b.
func limit(b []byte, n int) []byte { return b[:min(len(b), n)] }

// checkSegment verifies one sealed segment of dir on its own and fails
// unless it is intact.
func checkSegment(ctx context.Context, dir string, e SegmentInfo) error {
	p, err := verifyOne(ctx, dir, e)
	if err != nil {
		return err
	}
	if p != nil {
		return fmt.Errorf("audit: segment %s failed verification: %s", e.File, p)
	}
	return nil
}

// verifyOne verifies one sealed segment of dir on its own and returns its
// first problem, nil when it is intact.
func verifyOne(ctx context.Context, dir string, e SegmentInfo) (*Problem, error) {
	v := startVerifier(e.FirstSeq-1, e.Prev)
	if err := verifySegment(ctx, dir, e, v); err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return v.rep.FirstBad, nil
}

// archivePending archives the sealed segments that are compressed and
// verified and not yet archived, oldest first, and applies retention. It
// stops at the first segment it cannot archive: the archive holds an
// unbroken run of segments.
func (s *FileSink) archivePending() {
	if s.cfg.archive == nil {
		return
	}
	for _, e := range s.Manifest().Segments {
		if s.closing() {
			return
		}
		if e.Archived != "" {
			continue
		}
		if e.Status != StatusCompressed || e.Verified == nil || !e.Verified.OK {
			return // not ready; one that failed verification waits for an operator
		}
		if err := s.archiveSegment(e); err != nil {
			s.cfg.onError(fmt.Errorf("audit: archive segment %s: %w", e.File, err))
			return
		}
	}
	if err := s.expire(); err != nil {
		s.cfg.onError(fmt.Errorf("audit: retention: %w", err))
	}
}

// archiveSegment copies e to the archive, verifies the copy, updates the
// archive's manifest and records the archiving in the local manifest.
// Every step can be repeated, so a pass cut short is finished by the next.
func (s *FileSink) archiveSegment(e SegmentInfo) error {
	ctx := context.Background()
	if err := s.cfg.archive.Put(ctx, SegmentDir+"/"+e.File, filepath.Join(s.dir, SegmentDir, e.File)); err != nil {
		return err
	}
	if err := s.cfg.archive.Check(ctx, e); err != nil {
		return err
	}
	var man Manifest
	for _, x := range s.Manifest().Segments {
		if x.Archived != "" || x.FirstSeq == e.FirstSeq {
			x.Status, x.Archived = StatusCompressed, ""
			man.Segments = append(man.Segments, x)
		}
	}
	if err := writeManifestAs(s.dir, archiveManifest, man); err != nil {
		return err
	}
	if err := s.cfg.archive.Put(ctx, ManifestFile, filepath.Join(s.dir, archiveManifest)); err != nil {
		return err
	}
	e.Archived = formatTime(s.cfg.now())
	return s.update(e)
}

// expire removes the files of the oldest archived segments that retention
// lets go: first the manifest marks them archived, then the files go, so a
// crash between the two leaves a file that the next pass removes.
func (s *FileSink) expire() error {
	if s.cfg.retention <= 0 {
		return nil
	}
	cutoff := s.cfg.now().Add(-s.cfg.retention)
	hold := uint64(1<<64 - 1)
	if s.cfg.hold != nil {
		hold = s.cfg.hold()
	}
	for _, e := range s.Manifest().Segments {
		if e.Status != StatusArchived {
			last, err := time.Parse(time.RFC3339Nano, e.LastTime)
			if e.Archived == "" || err != nil || last.After(cutoff) || e.LastSeq > hold {
				return nil
			}
			e.Status = StatusArchived
			if err := s.update(e); err != nil {
				return err
			}
		}
		for _, f := range []string{e.File, indexName(e.FirstSeq)} {
			if err := os.Remove(filepath.Join(s.dir, SegmentDir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// online drops the leading segments that retention removed.
func online(segs []SegmentInfo) []SegmentInfo {
	i := slices.IndexFunc(segs, func(e SegmentInfo) bool { return e.Status != StatusArchived })
	if i < 0 {
		return nil
	}
	return segs[i:]
}

// VerifyArchive verifies an archive written by a DirArchiver (or an
// archive command) offline: every segment on its own and the chain across
// them, from its first segment; opts as for Verify (no saved checkpoint is
// read). Pin the audit key with opts.PublicKey.
func VerifyArchive(ctx context.Context, dir string, opts VerifyOptions) (Report, error) {
	man, err := readManifest(dir)
	if err != nil {
		return Report{}, err
	}
	if len(man.Segments) == 0 {
		return Report{}, fmt.Errorf("audit: %s holds no archived segment (no %s)", dir, ManifestFile)
	}
	return verifyLayout(ctx, &layout{dir: dir, man: man}, opts)
}

// firstPresent is where verification starts without a trusted checkpoint
// when the oldest segments are only in the archive, or in an archive,
// which may begin anywhere: at the first segment present, or else at the
// active segment, after record seq whose hash is prev.
func firstPresent(segs []SegmentInfo, seq uint64, prev string) (uint64, string, []SegmentInfo) {
	if len(segs) == 0 {
		return seq, prev, segs
	}
	return segs[0].FirstSeq - 1, segs[0].Prev, segs
}
