package scms

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
)

// The misbehaviour authority (IEEE 1609.2.1 clause 10 leaves the protocol
// open; this is mima's). Given a reported certificate it asks the PCA for
// the request behind it, the RA for that request's device and for the
// eLCIs of every request the device made (with any of its enrolment
// certificates) that reaches the current i-period, both LAs for those
// chains' seeds at that period, and has the CRL signer revoke the device:
// the seeds on the linkage-based CRL, so that all its pseudonym
// certificates from this period on fail while earlier ones stay
// unlinkable, and its enrolment certificates on the hash-based CRL; the
// RA and the ECA then refuse it.

// Revocation is the outcome of a misbehaviour report.
type Revocation struct {
	Certificate string `json:"certificate"` // HashedId8 (hex) of the reported certificate
	Kind        string `json:"kind"`        // "pseudonym" or "roadside"
	IRev        uint16 `json:"i_rev,omitempty"`
	// Enrolment is the HashedId8 (hex) of the device's enrolment
	// certificate, now revoked; only the MA's answer carries it.
	Enrolment string    `json:"enrolment"`
	Reported  time.Time `json:"reported"`
}

// Report revokes the device that holds cert (COER), a pseudonym or
// roadside unit certificate the deployment's PCA issued, and issues new
// CRLs. A certificate of a device already revoked gets that revocation.
func (s *Service) Report(ctx context.Context, dep string, certCOER []byte) (Revocation, error) {
	d, err := s.load(ctx, dep)
	if err != nil {
		return Revocation{}, err
	}
	var cert ieee1609.Certificate
	if err := coer.Unmarshal(certCOER, &cert); err != nil {
		return Revocation{}, fault.Invalid("not a COER certificate: %v", err)
	}
	if err := s.profile.CheckCertSignature(&cert, d.pca); err != nil {
		return Revocation{}, fault.Invalid("not a certificate of this deployment's PCA: %v", err)
	}
	st, err := s.store.Backend()
	if err != nil {
		return Revocation{}, err
	}
	// The LAs are asked for seeds first, outside the transaction, so that
	// a transaction that runs again asks only for requests that came
	// meanwhile.
	seeds := map[string]storage.Op{}
	if _, _, _, err := s.report(ctx, d, st, &cert, seeds); err != nil {
		return Revocation{}, err
	}
	// One transaction, without a lock, conditioned on what it read: the
	// report (not revoked twice), the device's ECA entry (no enrolment in
	// between) and each enrolment's request count (no request in between,
	// see Request).
	var (
		out   Revocation
		fresh bool
	)
	err = storage.Atomic(ctx, st, func(tx storage.Backend) error {
		var (
			ops []storage.Op
			err error
		)
		if out, ops, fresh, err = s.report(ctx, d, tx, &cert, seeds); err != nil || len(ops) == 0 {
			return err
		}
		return batch(ctx, tx, ops)
	})
	if err != nil {
		return Revocation{}, fault.Storage(err)
	}
	if fresh {
		if _, err := s.IssueCRLs(ctx, dep); err != nil {
			return Revocation{}, err
		}
	}
	return out, nil
}

// report returns the revocation a report of cert makes and the ops that
// store it: none if cert was reported before; only the report if its
// device was revoked before; else (fresh) the device's revocation.
func (s *Service) report(ctx context.Context, d *deployment, st storage.Backend, cert *ieee1609.Certificate, seeds map[string]storage.Op) (Revocation, []storage.Op, bool, error) {
	id, err := certID(cert)
	if err != nil {
		return Revocation{}, nil, false, err
	}
	reportPath := d.path(d.Tenants.MA, "ma", "reports/"+hex.EncodeToString(id[:]))
	var out Revocation
	if found, err := getJSON(ctx, st, reportPath, &out); err != nil || found {
		return out, nil, false, err
	}
	pcaReq, err := s.requestOf(ctx, d, cert)
	if err != nil {
		return Revocation{}, nil, false, err
	}
	rec, err := s.deviceRequest(ctx, d, pcaReq, d.expiryPeriod(cert.ToBeSigned.ValidityPeriod))
	if err != nil {
		return Revocation{}, nil, false, err
	}
	// Another certificate of a device already revoked: recorded, and
	// answered with the revocation, which covers it.
	found, err := getJSON(ctx, st, d.revokedPath(rec.Enrolment), &out)
	if err != nil {
		return Revocation{}, nil, false, err
	}
	var ops []storage.Op
	if !found {
		if ops, out, err = s.revocation(ctx, d, st, cert, id, rec, seeds); err != nil {
			return Revocation{}, nil, false, err
		}
	}
	op, err := putOp(reportPath, out)
	return out, append(ops, op), !found, err
}

// revokedPath is where the MA keeps the revocation of the device that
// holds an enrolment certificate.
func (d *deployment) revokedPath(enrolment string) string {
	return d.path(d.Tenants.MA, "ma", "revoked/"+enrolment)
}

// revocation returns the ops that revoke the device holding cert, whose
// request rec is: for every request it made with any of its enrolment
// certificates, the linkage seeds from the current i-period (pseudonyms)
// or the certificate (a roadside unit's, and cert itself) on a CRL; each
// enrolment certificate on the hash-based CRL and blocked at the RA; and
// its allow-list entry blocked.
func (s *Service) revocation(ctx context.Context, d *deployment, st storage.Backend, cert *ieee1609.Certificate, certID ieee1609.HashedId8, rec raRequest, seeds map[string]storage.Op) ([]storage.Op, Revocation, error) {
	out := Revocation{Certificate: hex.EncodeToString(certID[:]), Enrolment: rec.Enrolment, Reported: s.clock(), Kind: "roadside"}
	enrolments, ops, err := s.blockDevice(ctx, d, st, rec.Enrolment)
	if err != nil {
		return nil, Revocation{}, err
	}
	iRev := d.period(s.now())
	if cert.ToBeSigned.ID.LinkageData == nil {
		id10, err := certID10(cert)
		if err != nil {
			return nil, Revocation{}, err
		}
		op, err := d.revokeHashedOp(SeriesRoadside, hex.EncodeToString(id10[:]), ieee1609.Time32Of(cert.ToBeSigned.ValidityPeriod.End()))
		if err != nil {
			return nil, Revocation{}, err
		}
		ops = append(ops, op)
	} else {
		out.Kind, out.IRev = "pseudonym", iRev
	}
	for _, e := range enrolments {
		more, err := s.revokeRequests(ctx, d, st, e, iRev, seeds)
		if err != nil {
			return nil, Revocation{}, err
		}
		ops = append(ops, more...)
	}
	for _, e := range enrolments {
		op, err := putOp(d.revokedPath(e), out)
		if err != nil {
			return nil, Revocation{}, err
		}
		ops = append(ops, op)
	}
	return ops, out, nil
}

// revokeRequests returns the ops that revoke the certificates of every
// request made with an enrolment certificate that reach iRev: a pseudonym
// request's seeds at iRev on the linkage-based CRL (asked of the LAs
// unless seeds has them already, and kept there), a roadside unit's
// certificate on the hash-based one.
func (s *Service) revokeRequests(ctx context.Context, d *deployment, st storage.Backend, enrolment string, iRev uint16, seeds map[string]storage.Op) ([]storage.Op, error) {
	// Read before the listing, the count is the condition that no request
	// of the enrolment is stored before the revocation is.
	if _, err := d.requestCount(ctx, st, enrolment); err != nil {
		return nil, err
	}
	prefix := d.byEnrolment(enrolment, "")
	keys, err := st.List(ctx, prefix, "", 0)
	if err != nil {
		return nil, fault.Storage(err)
	}
	var ops []storage.Op
	for _, k := range keys {
		var rec raRequest
		found, err := getJSON(ctx, st, d.path(d.Tenants.RA, "ra", "requests/"+k[len(prefix):]), &rec)
		if err != nil {
			return nil, err
		}
		if !found || rec.Expires < iRev {
			continue
		}
		if !rec.Roadside {
			key := k + "@" + strconv.Itoa(int(iRev))
			if _, ok := seeds[key]; !ok {
				if seeds[key], err = s.revokeSeeds(ctx, d, rec.ELCI, iRev); err != nil {
					return nil, err
				}
			}
			ops = append(ops, seeds[key])
			continue
		}
		var r hashedRevocation
		found, err = getJSON(ctx, st, d.roadsidePath(rec.Expires, rec.PCARequest), &r)
		if err != nil {
			return nil, err
		}
		if !found {
			continue // not issued yet; the unit, blocked, cannot download it
		}
		op, err := d.revokeHashedOp(SeriesRoadside, r.ID10, r.Expiry)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// revokeSeeds recovers a request's linkage seeds at iRev from both LAs
// and returns the op that puts them on the linkage-based CRL.
func (s *Service) revokeSeeds(ctx context.Context, d *deployment, elci [2]string, iRev uint16) (storage.Op, error) {
	var seeds [2]*SeedResponse
	for n := range seeds {
		var err error
		if seeds[n], err = d.la(n+1).LinkageSeed(ctx, SeedRequest{ELCI: elci[n], IRev: iRev}); err != nil {
			return storage.Op{}, fmt.Errorf("LA%d: %w", n+1, err)
		}
	}
	slot, err := s.randomSlot()
	if err != nil {
		return storage.Op{}, fault.Unexpected(err)
	}
	// Both chains began when the request came, before iRev, so both are
	// at iRev.
	if seeds[0].At != iRev || seeds[1].At != iRev {
		return storage.Op{}, fault.Unexpected(fmt.Errorf("the LAs answered seeds at periods %d and %d, not %d", seeds[0].At, seeds[1].At, iRev))
	}
	return d.revokeLinkedOp(slot, linkedRevocation{
		LA1: d.LA1ID, LA2: d.LA2ID, Seed1: seeds[0].Seed, Seed2: seeds[1].Seed, IRev: iRev, IMax: max(seeds[0].End, seeds[1].End), JMax: uint8(d.CertsPerPeriod),
	})
}

// blockDevice returns the enrolment certificates of the device that
// holds this one, and the ops that block it: at the ECA, so that it
// cannot enrol again; and each enrolment certificate at the RA and on the
// hash-based CRL, so that no other one it holds gets it more pseudonyms.
func (s *Service) blockDevice(ctx context.Context, d *deployment, st storage.Backend, enrolment string) ([]string, []storage.Op, error) {
	e, err := s.enrolmentRecord(ctx, d, st, enrolment)
	if err != nil {
		return nil, nil, err
	}
	path := d.path(d.Tenants.ECA, "eca", "devices/"+e.Device)
	var dev DeviceEntry
	if _, err := getJSON(ctx, st, path, &dev); err != nil {
		return nil, nil, err
	}
	dev.Blocked = true
	op, err := putOp(path, dev)
	if err != nil {
		return nil, nil, err
	}
	ops := []storage.Op{op}
	blocked := []byte(s.clock().Format(time.RFC3339))
	for _, id := range dev.Enrolled {
		if e, err = s.enrolmentRecord(ctx, d, st, id); err != nil {
			return nil, nil, err
		}
		if op, err = d.revokeHashedOp(SeriesEnrolment, e.ID10, e.End); err != nil {
			return nil, nil, err
		}
		ops = append(ops, op, storage.Op{Key: d.path(d.Tenants.RA, "ra", "blocked/"+id), Value: blocked})
	}
	return dev.Enrolled, ops, nil
}

// enrolmentRecord is the ECA's record of an enrolment certificate.
func (s *Service) enrolmentRecord(ctx context.Context, d *deployment, st storage.Backend, id string) (enrolled, error) {
	var e enrolled
	found, err := getJSON(ctx, st, d.path(d.Tenants.ECA, "eca", "enrolled/"+id), &e)
	if err == nil && !found {
		err = fault.New(fault.Internal, "the ECA has no record of enrolment certificate %s", id)
	}
	return e, err
}
