package kms

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// jobPage is how many schedule entries RunJobs lists at a time.
const jobPage = 100

// JobReport counts what RunJobs did.
type JobReport struct {
	Destroyed int `json:"destroyed"`
	Rotated   int `json:"rotated"`
	// ImportTokensExpired counts unused import tokens deleted at expiry,
	// with their wrapping keys.
	ImportTokensExpired int `json:"import_tokens_expired"`
}

// RunJobs performs the destructions and automatic rotations due at now. It
// reads only the schedule entries that are due, so it is cheap to call
// often (say, every minute). A key is destroyed by deleting its record,
// and so every version's material, and writing a tombstone; a rotation adds
// one version however many periods have passed. An import token that
// expired unused is deleted with its wrapping key.
func (s *Service) RunJobs(ctx context.Context, now time.Time) (JobReport, error) {
	var rep JobReport
	st, err := s.store.Backend()
	if err != nil {
		return rep, err
	}
	for _, job := range []string{dueDestroy, dueRotate, dueImport} {
		prefix := dueRoot + job + "/"
		after := ""
		for {
			paths, err := st.List(ctx, prefix, after, jobPage)
			if err != nil {
				return rep, fault.Storage(err)
			}
			done := len(paths) < jobPage
			for _, p := range paths {
				_, at, tenant, name, ok := parseDue(p)
				if ok && at > now.Unix() {
					done = true
					break
				}
				if err := s.runJob(ctx, st, job, p, tenant, name, now, &rep); err != nil {
					return rep, err
				}
				after = p
			}
			if done {
				break
			}
		}
	}
	return rep, nil
}

// runJob performs the job of one due schedule entry, or deletes the entry
// if the key no longer calls for it, in one storage transaction.
func (s *Service) runJob(ctx context.Context, st storage.Backend, job, path, tenant, name string, now time.Time, rep *JobReport) error {
	var (
		done      *int // the count of rep the job adds to
		destroyed int  // the versions of a destroyed key
	)
	err := s.atomic(ctx, st, tenant, name, func(tx storage.Backend) error {
		done, destroyed = nil, 0
		if job == dueImport {
			// name is the token; Import deletes this entry when it uses one.
			done = &rep.ImportTokensExpired
			return tx.Batch(ctx, []storage.Op{{Key: importPath(tenant, name), Delete: true}, {Key: path, Delete: true}})
		}
		r, err := loadRecord(ctx, tx, tenant, name, name)
		if fault.Is(err, fault.KeyNotFound) {
			return tx.Delete(ctx, path)
		}
		if err != nil {
			return err
		}
		defer r.wipe()
		if r.dueEntry(tenant) != path {
			return tx.Delete(ctx, path)
		}
		if job == dueDestroy {
			done, destroyed = &rep.Destroyed, r.latest()
			return destroy(ctx, tx, tenant, r, path, now)
		}
		material, err := s.generate(onDevice(ctx, tenant, r.Device), r.Type)
		if err != nil {
			return err
		}
		r.addVersion(material, now.UTC())
		r.UpdatedAt = now.UTC()
		done = &rep.Rotated
		return save(ctx, tx, tenant, r, path)
	})
	if err != nil {
		return err
	}
	for v := range destroyed {
		s.budgets.Delete(bkey{tenant, name, v + 1})
	}
	if done != nil {
		*done++
	}
	return nil
}

// destroy deletes the record of r, with all its material, and writes its
// tombstone.
func destroy(ctx context.Context, st storage.Backend, tenant string, r *record, due string, now time.Time) error {
	tb, err := json.Marshal(tombstone{Name: r.Name, Type: r.Type, CreatedAt: r.CreatedAt, DestroyedAt: now.UTC(), Versions: r.latest()})
	if err != nil {
		return fmt.Errorf("kms: encoding tombstone: %w", err)
	}
	return st.Batch(ctx, []storage.Op{
		{Key: paths.Key{Tenant: tenant, Name: r.Name}.String(), Delete: true},
		{Key: tombstonePath(tenant, r.Name), Value: tb},
		{Key: due, Delete: true},
	})
}
