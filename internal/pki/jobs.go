package pki

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

// jobPage is how many schedule entries RunJobs lists at a time.
const jobPage = 100

// JobReport counts what RunJobs did.
type JobReport struct {
	CRLsIssued int
	// CRLsFailed counts CAs whose CRL could not be made (their key
	// disabled, say); the next RunJobs tries again.
	CRLsFailed int
}

// RunJobs issues a new CRL for every CA whose current CRL is due at now
// (half of its validity has passed), so that a fresh CRL is always out
// before nextUpdate. It reads only the schedule entries that are due, so
// it is cheap to call often (say, every minute). A CA that fails does not
// hold up the others: the error returned joins every failure.
func (s *Service) RunJobs(ctx context.Context, now time.Time) (JobReport, error) {
	var rep JobReport
	st, err := s.store.Backend()
	if err != nil {
		return rep, err
	}
	now = now.UTC().Truncate(time.Second)
	var errs []error
	for after := ""; ; {
		paths, err := st.List(ctx, dueCRLRoot, after, jobPage)
		if err != nil {
			return rep, errors.Join(append(errs, fault.Storage(err))...)
		}
		for _, p := range paths {
			at, tenant, ca, ok := parseDueCRL(p)
			if ok && at > now.Unix() {
				return rep, errors.Join(errs...)
			}
			issued, err := s.runCRLJob(ctx, st, p, tenant, ca, now)
			switch {
			case err != nil:
				rep.CRLsFailed++
				errs = append(errs, fmt.Errorf("pki: CRL of %s/%s: %w", tenant, ca, err))
			case issued:
				rep.CRLsIssued++
			}
			after = p
		}
		if len(paths) < jobPage {
			return rep, errors.Join(errs...)
		}
	}
}

// runCRLJob issues the CRL that the schedule entry path calls for, or
// deletes the entry if it is stale.
func (s *Service) runCRLJob(ctx context.Context, st storage.Backend, path, tenant, ca string, now time.Time) (bool, error) {
	// Conditioned, like a revocation, on the CA's CRL record: of a job and
	// a revocation at once, one signs again on the other's result.
	issued := false
	err := storage.Atomic(ctx, st, func(tx storage.Backend) error {
		issued = false
		r, err := readCA(ctx, tx, tenant, ca)
		if fault.Is(err, fault.CANotFound) {
			return tx.Delete(ctx, path)
		}
		if err != nil {
			return err
		}
		prev, err := readCRL(ctx, tx, tenant, ca)
		if err != nil {
			return err
		}
		if prev == nil || dueCRLPath(prev.Due, tenant, ca) != path {
			return tx.Delete(ctx, path)
		}
		a, err := newAuthority(tenant, r)
		if err != nil {
			return err
		}
		ops, err := s.makeCRL(ctx, tx, a, now)
		if err != nil {
			return err
		}
		issued = true
		return tx.Batch(ctx, ops)
	})
	if err != nil {
		return false, fault.Storage(err)
	}
	return issued, nil
}

// parseDueCRL splits a path made by dueCRLPath.
func parseDueCRL(path string) (at int64, tenant, ca string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(path, dueCRLRoot), "/")
	if len(parts) != 3 || len(parts[0]) != 20 {
		return 0, "", "", false
	}
	at, err := strconv.ParseInt(parts[0], 10, 64)
	return at, parts[1], parts[2], err == nil
}
