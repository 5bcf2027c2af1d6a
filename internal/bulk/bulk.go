// Package bulk runs mima bulk: it encrypts, decrypts, re-encrypts or masks
// the sensitive columns of CSV and JSON Lines files with sdk/fieldcrypt,
// in batches, resumably from a checkpoint. docs/data.md describes it.
package bulk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/mimacrypto/mima/sdk/fieldcrypt"
)

// Op is what a job does to each protected column.
type Op string

// The operations of mima bulk.
const (
	Encrypt   Op = "encrypt"   // plain values are protected; protected ones left alone
	Decrypt   Op = "decrypt"   // protected values are decrypted; plain ones left alone
	ReEncrypt Op = "reencrypt" // decrypted under From, encrypted under To
	MaskOp    Op = "mask"      // values of fields with a mask replaced by it
)

// ErrStopped is returned by a hook to stop a job at that point, as a
// crash or Ctrl-C would.
var ErrStopped = errors.New("bulk: stopped")

// Job is one bulk run.
type Job struct {
	Op    Op
	Codec *fieldcrypt.Codec
	// From is the fields file; To, for reencrypt, the fields to move to
	// (default From: fresh data keys, same modes).
	From, To *fieldcrypt.Config
	Batch    int     // rows per batch (default 1000)
	Workers  int     // goroutines per batch (default 1)
	Rate     float64 // rows per second at most; 0 for no limit
	// Checkpoint is the path of a file job's checkpoint file.
	Checkpoint string
	// Restart makes a table job forget its checkpoint and start over.
	Restart bool
	// Progress, if set, is called after every batch.
	Progress func(Progress)
	// hook, in tests, is called at named points and may stop the job.
	hook func(point string) error
	now  func() time.Time
}

// Progress is the state of a job after a batch.
type Progress struct {
	Rows    int64   `json:"rows"`
	Total   int64   `json:"total,omitempty"` // 0 when unknown
	RowsPer float64 `json:"rows_per_second"`
	ETA     float64 `json:"eta_seconds,omitempty"`
	Calls   uint64  `json:"service_calls"`
	HitRate float64 `json:"cache_hit_rate"`
	Done    bool    `json:"done"`
}

func (j *Job) defaults() error {
	if j.Batch <= 0 {
		j.Batch = 1000
	}
	if j.Workers <= 0 {
		j.Workers = 1
	}
	if j.To == nil {
		j.To = j.From
	}
	if j.now == nil {
		j.now = time.Now
	}
	switch j.Op {
	case Encrypt, Decrypt, ReEncrypt, MaskOp:
	default:
		return fmt.Errorf("bulk: unknown operation %q (encrypt, decrypt, reencrypt, mask)", j.Op)
	}
	if !slices.EqualFunc(j.From.Fields, j.To.Fields, func(a, b fieldcrypt.Field) bool { return a.Column == b.Column }) {
		return errors.New("bulk: the fields file to move to must name the same columns, in the same order")
	}
	if j.Op == MaskOp && !slices.ContainsFunc(j.From.Fields, func(f fieldcrypt.Field) bool { return f.Mask != "" }) {
		return errors.New("bulk: mask needs a field with a mask")
	}
	return nil
}

func (j *Job) at(point string) error {
	if j.hook == nil {
		return nil
	}
	return j.hook(point)
}

// row is one record: its values by column, read and written by a format.
type row interface {
	get(column string) (string, bool)
	set(column, value string)
}

// transform applies the job's operation to every field of r.
func (j *Job) transform(ctx context.Context, r row) error {
	for i := range j.From.Fields {
		f := &j.From.Fields[i]
		v, ok := r.get(f.Column)
		if !ok || v == "" {
			continue
		}
		out, err := j.value(ctx, f, &j.To.Fields[i], []byte(v))
		if err != nil {
			return fmt.Errorf("column %q: %w", f.Column, err)
		}
		if out == nil {
			continue
		}
		r.set(f.Column, string(out.value))
		if out.index != nil {
			r.set(j.To.Fields[i].IndexColumn, string(out.index))
		}
	}
	return nil
}

type result struct{ value, index []byte }

// value computes the new value of one column, or nil to leave it.
func (j *Job) value(ctx context.Context, from, to *fieldcrypt.Field, v []byte) (*result, error) {
	plain := v
	switch j.Op {
	case MaskOp:
		if from.Mask == "" {
			return nil, nil
		}
		m := *from
		m.Mode = fieldcrypt.Mask
		out, err := j.Codec.Encrypt(ctx, &m, v)
		return &result{value: out}, err
	case Encrypt:
		if fieldcrypt.Protected(from, v) {
			return nil, nil
		}
		return j.protect(ctx, to, v)
	}
	if fieldcrypt.Protected(from, v) || from.Mode == fieldcrypt.FPE {
		var err error
		if plain, err = j.Codec.Decrypt(ctx, from, v); err != nil {
			return nil, err
		}
	} else if j.Op == Decrypt || !from.Reversible() {
		return nil, nil
	}
	if j.Op == Decrypt {
		return &result{value: plain}, nil
	}
	return j.protect(ctx, to, plain)
}

func (j *Job) protect(ctx context.Context, f *fieldcrypt.Field, v []byte) (*result, error) {
	out, err := j.Codec.Encrypt(ctx, f, v)
	if err != nil {
		return nil, err
	}
	r := &result{value: out}
	if f.Mode == fieldcrypt.BlindIndex {
		r.index, err = j.Codec.Index(ctx, f, v)
	}
	return r, err
}

// transformAll transforms a batch with the job's workers.
func (j *Job) transformAll(ctx context.Context, rows []row) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		werr error
	)
	per := (len(rows) + j.Workers - 1) / j.Workers
	for start := 0; start < len(rows); start += per {
		part := rows[start:min(start+per, len(rows))]
		wg.Go(func() {
			for _, r := range part {
				if err := j.transform(ctx, r); err != nil {
					mu.Lock()
					werr = errors.Join(werr, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return werr
}

// pace sleeps as long as the rate asks after n rows since start.
func (j *Job) pace(ctx context.Context, start time.Time, n int64) error {
	if j.Rate <= 0 {
		return nil
	}
	wait := time.Duration(float64(n)/j.Rate*float64(time.Second)) - j.now().Sub(start)
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// report reports progress: ran rows done since start (by this run), rows
// done in all, of total (0 when unknown).
func (j *Job) report(start time.Time, ran, rows, total int64, done bool) {
	if j.Progress == nil {
		return
	}
	st := j.Codec.Stats()
	p := Progress{Rows: rows, Total: total, Calls: st.Calls, HitRate: st.HitRate(), Done: done}
	if secs := j.now().Sub(start).Seconds(); secs > 0 {
		p.RowsPer = float64(ran) / secs
		if total > rows && p.RowsPer > 0 {
			p.ETA = float64(total-rows) / p.RowsPer
		}
	}
	j.Progress(p)
}
