package scms

import (
	"context"
	"encoding/json"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
)

// Migrate brings a deployment made by an earlier mima, whose SM2
// signatures were not over GB/T 45112-2024's input, to that input: it
// re-issues the authority certificates, root to leaves, with the same
// bodies and keys, then the CRLs; the trust list's CTL, signed by the root
// whenever it is served, follows the new root. A deployment already under
// the standard's input is returned unchanged.
func (s *Service) Migrate(ctx context.Context, name string) (Deployment, error) {
	st, err := s.store.Backend()
	if err != nil {
		return Deployment{}, err
	}
	// Conditioned on the deployment's record, not under a lock across
	// the signatures: a migration that another node finished first runs
	// again and finds nothing to do.
	var (
		d       Deployment
		changed bool
	)
	err = storage.Atomic(ctx, st, func(tx storage.Backend) error {
		var err error
		d, changed, err = s.reissue(ctx, tx, name)
		return err
	})
	if err != nil {
		return Deployment{}, fault.Storage(err)
	}
	if !changed {
		return d, nil
	}
	s.deps.Remove(paths.Deployment{Name: name})
	if _, err := s.IssueCRLs(ctx, name); err != nil {
		return Deployment{}, err
	}
	return d, nil
}

// reissue re-signs the authority certificates of the deployment's record
// and writes it back; changed is false when the record needed no
// migration.
func (s *Service) reissue(ctx context.Context, st storage.Backend, name string) (d Deployment, changed bool, err error) {
	found, err := getJSON(ctx, st, paths.Deployment{Name: name}.String(), &d)
	if err != nil {
		return Deployment{}, false, err
	}
	if !found {
		return Deployment{}, false, fault.New(fault.DeploymentNotFound, "V2X deployment %q not found", name)
	}
	if d.SigningInput == SigningInputGBT45112 {
		return d, false, nil
	}
	b := newBuilder(s, &d, s.clock())
	certs := d.certs()
	for _, a := range s.authorities(&d) {
		var old ieee1609.Certificate
		if err := coer.Unmarshal(*certs[a.role], &old); err != nil {
			return Deployment{}, false, fault.Unexpected(err)
		}
		if err := b.issue(ctx, a, old.ToBeSigned); err != nil {
			return Deployment{}, false, err
		}
	}
	if err := b.store(); err != nil {
		return Deployment{}, false, err
	}
	d.SigningInput = SigningInputGBT45112
	rec, err := json.Marshal(d)
	if err != nil {
		return Deployment{}, false, fault.Unexpected(err)
	}
	if err := st.Put(ctx, paths.Deployment{Name: name}.String(), rec); err != nil {
		return Deployment{}, false, fault.Storage(err)
	}
	return d, true, nil
}
