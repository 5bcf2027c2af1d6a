package scms

import (
	"context"
	"errors"
	"strconv"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

// Retention. What the authorities keep of a certificate is what lets the
// MA trace it, and the RA's download files; once the certificate has
// expired, the files serve nothing and the rest only a report that may
// still come. Records are kept by the i-period their certificates expire
// (see the paths in the package doc), so that Tidy deletes whole periods:
// download files when their period is over, everything else
// RetainPeriods later; and revocations whose certificates have all
// expired. The MA's reports and revocations are kept.

// tidyPage is how many records one listing and one batch handle.
const tidyPage = 500

// tidyMarkPath holds the i-period a deployment was last tidied at.
func tidyMarkPath(dep string) string { return "v2x/tidied/" + dep }

// Tidy deletes what deployment dep no longer needs, once per i-period,
// and returns how many records it deleted. The node that runs the
// cluster's jobs calls it.
func (s *Service) Tidy(ctx context.Context, dep string) (int, error) {
	d, st, err := s.open(ctx, dep)
	if err != nil {
		return 0, err
	}
	created, now, retain := d.period(d.Created), d.period(s.now()), uint16(d.RetainPeriods)
	return tidyOnce(ctx, st, tidyMarkPath(dep), created, now, func(t *tidier, from uint16) {
		ra := func(part string, p uint16) string { return d.path(d.Tenants.RA, "ra", part+"/"+bucket(p)+"/") }
		for p := from; p < now; p++ {
			t.deleteUnder(ctx, ra("files", p))
		}
		for p := max(created+retain, from); p < now; p++ {
			old := p - retain
			t.deleteRequests(ctx, d, old)
			prefixes := []string{ra("files", old), ra("pcareq", old), d.path(d.Tenants.PCA, "pca", "issued/"+bucket(old)+"/"),
				d.path(d.Tenants.PCA, "pca", "roadside/"+bucket(old)+"/")}
			for _, la := range d.las {
				if la, ok := la.(*tenantLA); ok {
					prefixes = append(prefixes, la.chains+bucket(old)+"/")
				}
			}
			for _, prefix := range prefixes {
				t.deleteUnder(ctx, prefix)
			}
		}
		t.deleteRevocations(ctx, d, now)
	})
}

// tidyOnce runs work, once per i-period, for the periods since the one
// recorded at mark by its last run (since first if none), and records
// now; it returns how many records work deleted.
func tidyOnce(ctx context.Context, st storage.Backend, mark string, first, now uint16, work func(t *tidier, from uint16)) (int, error) {
	from := first
	switch b, err := st.Get(ctx, mark); {
	case err == nil:
		n, err := strconv.ParseUint(string(b), 10, 16)
		if err != nil {
			return 0, fault.Unexpected(err)
		}
		from = uint16(n)
	case !errors.Is(err, storage.ErrNotFound):
		return 0, fault.Storage(err)
	}
	if from >= now {
		return 0, nil
	}
	t := &tidier{st: st}
	work(t, from)
	if t.err != nil {
		return t.deleted, t.err
	}
	if err := st.Put(ctx, mark, []byte(strconv.Itoa(int(now)))); err != nil {
		return t.deleted, fault.Storage(err)
	}
	return t.deleted, nil
}

// tidier deletes records page by page, keeping the first error.
type tidier struct {
	st      storage.Backend
	deleted int
	err     error
}

// each calls f with the keys under prefix, a page at a time; f returns
// the records to delete.
func (t *tidier) each(ctx context.Context, prefix string, f func(keys []string) []string) {
	after := ""
	for t.err == nil {
		keys, err := t.st.List(ctx, prefix, after, tidyPage)
		if err != nil {
			t.err = fault.Storage(err)
			return
		}
		if len(keys) == 0 {
			return
		}
		after = keys[len(keys)-1]
		ops := make([]storage.Op, 0, len(keys))
		for _, k := range f(keys) {
			ops = append(ops, storage.Op{Key: k, Delete: true})
		}
		if t.err == nil && len(ops) > 0 {
			t.err = batch(ctx, t.st, ops)
			t.deleted += len(ops)
		}
	}
}

// deleteUnder deletes every record under prefix.
func (t *tidier) deleteUnder(ctx context.Context, prefix string) {
	t.each(ctx, prefix, func(keys []string) []string { return keys })
}

// deleteRequests deletes the RA's requests whose certificates expired in
// period p, with their index entries.
func (t *tidier) deleteRequests(ctx context.Context, d *deployment, p uint16) {
	prefix := d.byExpiry(p, "")
	t.each(ctx, prefix, func(keys []string) []string {
		var del []string
		for _, k := range keys {
			reqHex := k[len(prefix):]
			path := d.path(d.Tenants.RA, "ra", "requests/"+reqHex)
			var rec raRequest
			found, err := getJSON(ctx, t.st, path, &rec)
			if err != nil {
				t.err = err
				return nil
			}
			if found {
				del = append(del, path, d.byEnrolment(rec.Enrolment, reqHex))
			}
			del = append(del, k)
		}
		return del
	})
}

// deleteRevocations deletes the revocations whose certificates have all
// expired by period now: no CRL lists them any more.
func (t *tidier) deleteRevocations(ctx context.Context, d *deployment, now uint16) {
	start := d.periodStart(now)
	deleteWhere(ctx, t, d.path(d.Tenants.Root, "crl", "linked/"), func(r linkedRevocation) bool { return r.IMax < now })
	deleteWhere(ctx, t, d.path(d.Tenants.Root, "crl", "hashed/"), func(r hashedRevocation) bool { return r.Expiry < start })
}

// deleteWhere deletes the records of type T under prefix that are done.
func deleteWhere[T any](ctx context.Context, t *tidier, prefix string, done func(T) bool) {
	t.each(ctx, prefix, func(keys []string) []string {
		var del []string
		for _, k := range keys {
			var r T
			if _, err := getJSON(ctx, t.st, k, &r); err != nil {
				t.err = err
				return nil
			}
			if done(r) {
				del = append(del, k)
			}
		}
		return del
	})
}
