package pki

import (
	"context"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

// Revoke revokes a certificate for reason ("" is Unspecified) and issues
// a new CRL of its CA. CertificateHold is Hold. A revoked certificate
// cannot be revoked again (already_revoked); one on hold can, for another
// reason, which makes the revocation final.
func (s *Service) Revoke(ctx context.Context, tenant, serial string, reason Reason) (Certificate, error) {
	if _, ok := reason.code(); !ok {
		return Certificate{}, fault.Invalid("unknown revocation reason %q; use one of %s", reason, reasonNames())
	}
	if reason == "" {
		reason = Unspecified
	}
	return s.changeRevocation(ctx, tenant, serial, func(c *Certificate, now time.Time) error {
		switch {
		case c.State == Revoked:
			return fault.New(fault.AlreadyRevoked, "certificate %s was revoked at %s (%s)", c.Serial, c.RevokedAt.Format(time.RFC3339), c.Reason)
		case c.State == OnHold && reason == CertificateHold:
			return fault.New(fault.AlreadyRevoked, "certificate %s is already on hold", c.Serial)
		}
		c.State, c.RevokedAt, c.Reason = Revoked, now, reason
		if reason == CertificateHold {
			c.State = OnHold
		}
		return nil
	})
}

// Hold suspends a certificate (revocation reason certificateHold) until
// Release or a final Revoke.
func (s *Service) Hold(ctx context.Context, tenant, serial string) (Certificate, error) {
	return s.Revoke(ctx, tenant, serial, CertificateHold)
}

// Release takes a certificate off hold: it is valid again and the new CRL
// no longer lists it (in a full CRL, that is what removeFromCRL means).
func (s *Service) Release(ctx context.Context, tenant, serial string) (Certificate, error) {
	return s.changeRevocation(ctx, tenant, serial, func(c *Certificate, _ time.Time) error {
		if c.State != OnHold {
			return fault.Invalid("certificate %s is not on hold", c.Serial)
		}
		c.State, c.RevokedAt, c.Reason = Valid, time.Time{}, ""
		return nil
	})
}

// changeRevocation applies change to a certificate and stores it with its
// CRL entry and its CA's new CRL, atomically.
func (s *Service) changeRevocation(ctx context.Context, tenant, serial string, change func(c *Certificate, now time.Time) error) (Certificate, error) {
	if err := checkTenant(tenant); err != nil {
		return Certificate{}, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return Certificate{}, err
	}
	sn, err := parseSerial(serial)
	if err != nil {
		return Certificate{}, err
	}
	// No lock: the transaction is conditioned on the certificate and on
	// its CA's current CRL record, which every revocation of that CA
	// rewrites, so revocations of one CA follow each other, each CRL
	// listing all those before it, and other CAs' proceed in parallel.
	var c *Certificate
	now := s.clock()
	err = storage.Atomic(ctx, st, func(tx storage.Backend) error {
		var err error
		if c, err = readCert(ctx, tx, tenant, sn); err != nil {
			return err
		}
		a, err := s.loadCA(ctx, tenant, c.CA)
		if err != nil {
			return err
		}
		var index []storage.Op
		if c.State != Valid {
			index = append(index, storage.Op{Key: revokedPath(tenant, c), Delete: true})
		}
		if err := change(c, now); err != nil {
			return err
		}
		if c.State != Valid {
			index = append(index, storage.Op{Key: revokedPath(tenant, c), Value: []byte{}})
		}
		crlOps, err := s.makeCRL(ctx, tx, a, now, index...)
		if err != nil {
			return err
		}
		op, err := certOp(tenant, c)
		if err != nil {
			return err
		}
		return tx.Batch(ctx, append(append([]storage.Op{op}, index...), crlOps...))
	})
	if err != nil {
		return Certificate{}, fault.Storage(err)
	}
	return c.at(now), nil
}
