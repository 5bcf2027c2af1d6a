package pki

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// caRecord is the stored form of a CA, at t/<tenant>/pki/cas/<ca>:
//
//	{"name": ..., "kind": "root", "state": "active", "key": kms key name,
//	 "certificate": base64 DER (absent while pending),
//	 "chain": [base64 DER, ...] (the issuers above, nearest first),
//	 "csr": base64 DER (external CAs), "parent": issuing CA (intermediate),
//	 "config": {...}, "created_at": RFC 3339}
type caRecord struct {
	Name        string    `json:"name"`
	Kind        CAKind    `json:"kind"`
	State       CAState   `json:"state"`
	Key         string    `json:"key"`
	Certificate []byte    `json:"certificate,omitempty"`
	Chain       [][]byte  `json:"chain,omitempty"`
	CSR         []byte    `json:"csr,omitempty"`
	Parent      string    `json:"parent,omitempty"`
	Config      Config    `json:"config"`
	CreatedAt   time.Time `json:"created_at"`
}

// authority is a cached CA: its record with the certificate parsed.
type authority struct {
	tenant string
	rec    *caRecord
	cert   *smx509.Certificate // nil while pending
	ids    issuerIDs           // OCSP CertID hashes; empty while pending
}

func newAuthority(tenant string, r *caRecord) (*authority, error) {
	a := &authority{tenant: tenant, rec: r}
	if r.State != Active {
		return a, nil
	}
	cert, err := smx509.ParseCertificate(r.Certificate)
	if err != nil {
		return nil, fmt.Errorf("pki: CA %s/%s has a corrupt certificate: %w", tenant, r.Name, err)
	}
	if a.ids, err = issuerIDsOf(cert); err != nil {
		return nil, fmt.Errorf("pki: CA %s/%s: %w", tenant, r.Name, err)
	}
	a.cert = cert
	return a, nil
}

// loadCA returns the CA of tenant, cached; an absent CA is ca_not_found.
func (s *Service) loadCA(ctx context.Context, tenant, ca string) (*authority, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	k := paths.CA{Tenant: tenant, Name: ca}
	if a, ok := s.cas.Get(k); ok {
		return a, nil
	}
	gen := s.cas.Generation()
	r, err := readCA(ctx, st, tenant, ca)
	if err != nil {
		return nil, err
	}
	a, err := newAuthority(tenant, r)
	if err != nil {
		return nil, err
	}
	s.cas.Add(k, a, gen) // unless a writer put a newer one meanwhile
	return a, nil
}

// activeCA returns a CA that can sign now: active (ca_pending), within its
// validity (ca_expired) and, if a CA of the tenant issued its certificate,
// not revoked or on hold there (ca_revoked).
func (s *Service) activeCA(ctx context.Context, tenant, ca string, now time.Time) (*authority, error) {
	a, err := s.loadCA(ctx, tenant, ca)
	if err != nil {
		return nil, err
	}
	if a.rec.State != Active {
		return nil, fault.New(fault.CAPending, "CA %q has no certificate yet", ca)
	}
	if now.After(a.cert.NotAfter) {
		return nil, fault.New(fault.CAExpired, "CA %q expired at %s", ca, a.cert.NotAfter.Format(time.RFC3339))
	}
	if now.Before(a.cert.NotBefore) {
		return nil, fault.New(fault.CAExpired, "CA %q is not valid before %s", ca, a.cert.NotBefore.Format(time.RFC3339))
	}
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	c, err := readCert(ctx, st, tenant, serialString(a.cert.SerialNumber))
	switch {
	case fault.Is(err, fault.CertificateNotFound):
		return a, nil
	case err != nil:
		return nil, err
	case c.State != Valid && bytes.Equal(c.DER, a.rec.Certificate):
		return nil, fault.New(fault.CARevoked, "the certificate of CA %q is %s (%s)", ca, c.State, c.Reason)
	}
	return a, nil
}

// readCA reads a CA record from storage.
func readCA(ctx context.Context, st storage.Backend, tenant, ca string) (*caRecord, error) {
	if !authn.ValidName(ca) {
		return nil, errCANotFound(ca)
	}
	b, err := st.Get(ctx, paths.CA{Tenant: tenant, Name: ca}.String())
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errCANotFound(ca)
	}
	if err != nil {
		return nil, fault.Storage(err)
	}
	var r caRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("pki: CA record %s/%s is corrupt: %w", tenant, ca, err)
	}
	return &r, nil
}

// caOp returns the op that stores r.
func caOp(tenant string, r *caRecord) (storage.Op, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return storage.Op{}, fmt.Errorf("pki: encoding CA record: %w", err)
	}
	return storage.Op{Key: paths.CA{Tenant: tenant, Name: r.Name}.String(), Value: b}, nil
}

// saveCA returns the authority of r and the ops that store r with ops.
func saveCA(tenant string, r *caRecord, ops []storage.Op) (*authority, []storage.Op, error) {
	a, err := newAuthority(tenant, r)
	if err != nil {
		return nil, nil, err
	}
	op, err := caOp(tenant, r)
	if err != nil {
		return nil, nil, err
	}
	return a, append([]storage.Op{op}, ops...), nil
}

// commitNewCA stores the new CA r with ops in one transaction on
// condition that the tenant has no CA of its name (already_exists
// otherwise) and that none of serials is taken (their certificates are
// in ops), then caches it. prepare, if not nil, returns further ops from
// reads in the transaction.
func (s *Service) commitNewCA(ctx context.Context, st storage.Backend, tenant string, r *caRecord, ops []storage.Op, prepare func(tx storage.Backend) ([]storage.Op, error), serials ...*big.Int) (*authority, error) {
	var a *authority
	err := storage.Atomic(ctx, st, func(tx storage.Backend) error {
		if err := claimCAName(ctx, tx, tenant, r.Name); err != nil {
			return err
		}
		if err := claimSerials(ctx, tx, tenant, serials...); err != nil {
			return err
		}
		more := slices.Clone(ops)
		if prepare != nil {
			extra, err := prepare(tx)
			if err != nil {
				return err
			}
			more = append(more, extra...)
		}
		var all []storage.Op
		var err error
		if a, all, err = saveCA(tenant, r, more); err != nil {
			return err
		}
		return tx.Batch(ctx, all)
	})
	if err != nil {
		return nil, fault.Storage(err)
	}
	s.cas.Put(paths.CA{Tenant: tenant, Name: r.Name}, a)
	return a, nil
}

// claimCAName refuses, with already_exists, a CA name that st holds.
func claimCAName(ctx context.Context, st storage.Backend, tenant, name string) error {
	if _, err := readCA(ctx, st, tenant, name); err == nil {
		return fault.New(fault.AlreadyExists, "CA %q already exists", name)
	} else if !fault.Is(err, fault.CANotFound) {
		return err
	}
	return nil
}

// updateCA applies change to the stored record of ca and stores it with
// the ops change returns, in one transaction conditioned on the record
// (and whatever change reads from the transaction it is given): change
// runs again when another writer changed them first, so it must have no
// effect outside the transaction. It caches the record stored.
func (s *Service) updateCA(ctx context.Context, tenant, ca string, change func(tx storage.Backend, r *caRecord) ([]storage.Op, error)) (CA, error) {
	if err := checkTenant(tenant); err != nil {
		return CA{}, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return CA{}, err
	}
	var a *authority
	err = storage.Atomic(ctx, st, func(tx storage.Backend) error {
		r, err := readCA(ctx, tx, tenant, ca)
		if err != nil {
			return err
		}
		ops, err := change(tx, r)
		if err != nil {
			return err
		}
		var all []storage.Op
		if a, all, err = saveCA(tenant, r, ops); err != nil {
			return err
		}
		return tx.Batch(ctx, all)
	})
	if err != nil {
		return CA{}, fault.Storage(err)
	}
	s.cas.Put(paths.CA{Tenant: tenant, Name: ca}, a)
	return a.info(), nil
}
