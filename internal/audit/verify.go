package audit

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

// Reasons a record fails verification.
const (
	ReasonUnparseable   = "unparseable record"
	ReasonNonCanonical  = "non-canonical encoding"
	ReasonMalformed     = "malformed record"
	ReasonTooLong       = "record too long"
	ReasonSequence      = "sequence out of order"
	ReasonHash          = "hash mismatch"
	ReasonLink          = "broken link to previous record"
	ReasonCheckpoint    = "checkpoint does not match chain"
	ReasonBadKey        = "bad checkpoint key"
	ReasonUnexpectedKey = "checkpoint signed by unexpected key"
	ReasonSignature     = "bad checkpoint signature"
	ReasonExternal      = "record differs from external checkpoint"
	ReasonTruncated     = "log truncated"
)

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// PublicKey, when set, is the only key checkpoints may be signed with.
	// Without it every checkpoint must use the key of the first one.
	PublicKey *ecdsa.PublicKey
	// Checkpoint is a checkpoint record kept outside the log (the content of
	// checkpoint.json or a copy the operator kept). The log must contain it
	// unchanged, which detects a tail truncated before it. When nil, Verify
	// uses the source's saved checkpoint.
	Checkpoint []byte
	// Witnessed are checkpoint records that a witness kept (see
	// ReadWitness). Like Checkpoint, each must be in the log unchanged, and
	// the log must reach the newest of them.
	Witnessed [][]byte
	// From is a trusted checkpoint record (one verified before): Verify
	// starts there instead of at the first record, skipping the sealed
	// segments before it. It must be in the log unchanged.
	From []byte
}

// Problem names the first record that fails verification.
type Problem struct {
	Seq    uint64 `json:"seq"`  // seq expected at that position
	Line   uint64 `json:"line"` // 1-based line number in the log
	Reason string `json:"reason"`
}

// String describes p for people.
func (p *Problem) String() string {
	return fmt.Sprintf("record %d (line %d): %s", p.Seq, p.Line, p.Reason)
}

// Report is the outcome of Verify. Counts cover the records before the first
// problem (all of them when OK).
type Report struct {
	OK                 bool      `json:"ok"`
	FirstSeq           uint64    `json:"first_seq,omitempty"` // set when older records were dropped from a memory log
	Records            uint64    `json:"records"`
	Checkpoints        uint64    `json:"checkpoints"`
	LastCheckpointSeq  uint64    `json:"last_checkpoint_seq"`
	LastCheckpointTime time.Time `json:"last_checkpoint_time"`
	Head               string    `json:"head"` // hash of the last good record
	// AfterCheckpoint counts the good records after the last checkpoint in
	// the log (all of them when there is none). The chain alone protects
	// them: they can be cut off unnoticed unless a witness saw a later
	// checkpoint.
	AfterCheckpoint uint64 `json:"after_checkpoint"`
	// ExternalSeq is the seq of the newest checkpoint known outside the log
	// (saved or witnessed), 0 when there is none. The log cannot end
	// before it unnoticed.
	ExternalSeq uint64   `json:"external_checkpoint_seq,omitempty"`
	PublicKey   string   `json:"public_key,omitempty"` // base64 DER key of the checkpoints
	FirstBad    *Problem `json:"first_bad,omitempty"`
}

// Verify checks the whole log in src: every line parses, seq rises by one
// per line, each record's hash and link to its predecessor hold, every
// checkpoint matches the chain and carries a valid signature by the expected
// key, and the external checkpoints (opts.Checkpoint or the source's saved
// one, and opts.Witnessed) are in the log. A verification failure is
// reported in the Report; the error is for a bad external checkpoint or a
// failure to read.
func Verify(ctx context.Context, src Source, opts VerifyOptions) (Report, error) {
	if opts.Checkpoint == nil {
		cp, err := src.LoadCheckpoint(ctx)
		if err != nil {
			return Report{}, err
		}
		opts.Checkpoint = cp
	}
	if seg, ok := src.(segmentedSource); ok {
		l, err := seg.layout()
		if err != nil {
			return Report{}, err
		}
		return verifyLayout(ctx, l, opts)
	}
	v, err := newVerifier(opts)
	if err != nil {
		return Report{}, err
	}
	if w, ok := src.(Windowed); ok {
		seq, prev, err := w.Window(ctx)
		if err != nil {
			return Report{}, err
		}
		if seq > 1 {
			v.line, v.rep.FirstSeq = seq-1, seq
			hex.Decode(v.prev[:], []byte(prev))
		}
	}
	return v.finish(src.Scan(ctx, v.add))
}

// Windowed is a Source that keeps only its newest records (the
// development server's memory log). Window returns the seq and prev hash
// of the oldest kept record, or seq 0 when nothing was dropped; Verify then
// proves the chain from there on.
type Windowed interface {
	Window(ctx context.Context) (seq uint64, prev string, err error)
}

// VerifyReader verifies the log read from r; only opts.Checkpoint and
// opts.Witnessed are used as external checkpoints. Bytes after the last '\n' are ignored.
func VerifyReader(ctx context.Context, r io.Reader, opts VerifyOptions) (Report, error) {
	v, err := newVerifier(opts)
	if err != nil {
		return Report{}, err
	}
	return v.finish(scanLines(ctx, r, v.add))
}

// VerifyDir verifies the FileSink directory dir without modifying it.
func VerifyDir(ctx context.Context, dir string, opts VerifyOptions) (Report, error) {
	return Verify(ctx, DirSource(dir), opts)
}

// errStop ends a scan at the first problem.
var errStop = errors.New("audit: verification stopped")

// verifier checks records one at a time.
type verifier struct {
	key    *ecdsa.PublicKey // key every checkpoint must use; nil until known
	keyB64 string           // last public_key field seen, parsed into last
	last   *ecdsa.PublicKey
	ext    map[uint64]string // seq -> hash of every external checkpoint
	line   uint64
	seq    uint64         // seq of the last good record
	prev   [hashSize]byte // its hash
	rep    Report
	buf    []byte // a compact line without its escapes
}

// startVerifier returns a verifier of the records after record seq,
// whose hash is prev.
func startVerifier(seq uint64, prev string) *verifier {
	v := &verifier{line: seq, seq: seq, ext: map[uint64]string{}}
	hex.Decode(v.prev[:], []byte(prev)) // a bad prev fails the first link
	return v
}

func newVerifier(opts VerifyOptions) (*verifier, error) {
	v := startVerifier(0, zeroHash)
	v.key = opts.PublicKey
	external := opts.Witnessed
	for _, cp := range [][]byte{opts.From, opts.Checkpoint} {
		if cp != nil {
			external = append([][]byte{cp}, external...)
		}
	}
	for _, line := range external {
		if err := v.addExternal(bytes.TrimSuffix(line, []byte("\n"))); err != nil {
			return nil, fmt.Errorf("audit: external checkpoint: %w", err)
		}
	}
	return v, nil
}

// addExternal checks a checkpoint kept outside the log and remembers it.
// Two of them with one seq and different hashes cannot both be in the log.
func (v *verifier) addExternal(line []byte) error {
	cp, err := ParseRecord(line)
	if err != nil {
		return err
	}
	if cp.Kind != KindCheckpoint {
		return errors.New("not a checkpoint record")
	}
	if recordHash(cp) != cp.Hash {
		return errors.New(ReasonHash)
	}
	if reason := v.checkCheckpoint(cp); reason != "" {
		return errors.New(reason)
	}
	if h, ok := v.ext[cp.Seq]; ok && h != cp.Hash {
		return fmt.Errorf("two different checkpoints with seq %d", cp.Seq)
	}
	v.ext[cp.Seq] = cp.Hash
	v.rep.ExternalSeq = max(v.rep.ExternalSeq, cp.Seq)
	return nil
}

// add checks the next line; it returns errStop at the first problem.
func (v *verifier) add(line []byte) error {
	v.line++
	if isCompact(line) {
		return v.addCompact(line)
	}
	r, err := ParseRecord(line)
	if err != nil {
		return v.fail(v.line, parseReason(err))
	}
	switch {
	case r.Seq != v.line:
		return v.fail(v.line, ReasonSequence)
	case recordHash(r) != r.Hash:
		return v.fail(v.line, ReasonHash)
	case r.Prev != hex.EncodeToString(v.prev[:]):
		return v.fail(v.line, ReasonLink)
	}
	if r.Kind == KindCheckpoint {
		if reason := v.checkCheckpoint(r); reason != "" {
			return v.fail(v.line, reason)
		}
		v.rep.Checkpoints++
		v.rep.LastCheckpointSeq = r.Seq
		v.rep.LastCheckpointTime, _ = time.Parse(time.RFC3339Nano, r.Time) // validated by ParseRecord
		v.rep.PublicKey = r.PublicKey
	}
	if h, ok := v.ext[r.Seq]; ok && r.Hash != h {
		return v.fail(v.line, ReasonExternal)
	}
	hex.Decode(v.prev[:], []byte(r.Hash)) // validated by ParseRecord
	v.seq = r.Seq
	v.rep.Records++
	return nil
}

// addCompact checks a compact line: its hash is the digest of its body as
// stored, so nothing is decoded to text or encoded again. A compact
// record is never a checkpoint.
func (v *verifier) addCompact(line []byte) error {
	body, hash, err := splitCompact(line, &v.buf)
	if err != nil {
		return v.fail(v.line, ReasonUnparseable)
	}
	f, err := readCompact(body)
	switch {
	case err != nil:
		return v.fail(v.line, ReasonMalformed)
	case f.seq != v.line:
		return v.fail(v.line, ReasonSequence)
	case sm3.Sum(body) != [hashSize]byte(hash):
		return v.fail(v.line, ReasonHash)
	case [hashSize]byte(f.prev) != v.prev:
		return v.fail(v.line, ReasonLink)
	}
	if _, ok := v.ext[f.seq]; ok {
		return v.fail(v.line, ReasonExternal)
	}
	v.prev, v.seq = [hashSize]byte(hash), f.seq
	v.rep.Records++
	return nil
}

// head is the hash of the last good record, "" when there is none.
func (v *verifier) head() string {
	if v.rep.Records == 0 {
		return ""
	}
	return hex.EncodeToString(v.prev[:])
}

// checkCheckpoint checks a checkpoint's fields, key and signature; it
// returns "" when they are good. The first key seen becomes the expected
// one when none is pinned.
func (v *verifier) checkCheckpoint(cp *Record) string {
	if cp.Count != cp.Seq-1 || cp.Head != cp.Prev {
		return ReasonCheckpoint
	}
	if cp.PublicKey != v.keyB64 {
		pub, err := ParsePublicKey(cp.PublicKey)
		if err != nil {
			return ReasonBadKey
		}
		v.keyB64, v.last = cp.PublicKey, pub
	}
	if v.key == nil {
		v.key = v.last
	}
	if !v.key.Equal(v.last) {
		return ReasonUnexpectedKey
	}
	if !checkSignature(cp, v.last) {
		return ReasonSignature
	}
	return ""
}

// fork returns a verifier that shares v's external checkpoints and key and
// starts after record seq, whose hash is prev.
func (v *verifier) fork(seq uint64, prev string) *verifier {
	f := startVerifier(seq, prev)
	f.key, f.ext = v.key, v.ext
	return f
}

// fail records the first problem and stops the scan.
func (v *verifier) fail(line uint64, reason string) error {
	v.rep.FirstBad = &Problem{Seq: line, Line: line, Reason: reason}
	return errStop
}

// finish turns the scan's result into the report.
func (v *verifier) finish(err error) (Report, error) {
	switch {
	case errors.Is(err, errStop):
	case errors.Is(err, ErrLineTooLong):
		v.fail(v.line+1, ReasonTooLong)
	case err != nil:
		return Report{}, err
	case v.line < v.rep.ExternalSeq:
		v.fail(v.line+1, fmt.Sprintf("%s: checkpoint (record %d) covers %d records, log has %d", ReasonTruncated, v.rep.ExternalSeq, v.rep.ExternalSeq-1, v.line))
	}
	v.rep.OK = v.rep.FirstBad == nil
	v.rep.Head = v.head()
	v.rep.AfterCheckpoint = v.rep.Records
	if v.rep.LastCheckpointSeq > 0 {
		v.rep.AfterCheckpoint = v.seq - v.rep.LastCheckpointSeq
	}
	return v.rep, nil
}

// parseReason maps a ParseRecord error to a Problem reason.
func parseReason(err error) string {
	switch {
	case errors.Is(err, ErrNonCanonical):
		return ReasonNonCanonical
	case errors.Is(err, ErrMalformed):
		return ReasonMalformed
	default:
		return ReasonUnparseable
	}
}
