package scms

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
)

// The misbehaviour authority (IEEE 1609.2.1 clause 10 leaves the protocol
// open; this is mima's). Given a reported certificate it asks the PCA for
// the request behind it, the RA for that request's device and eLCIs
// (the RA then refuses the device), both LAs for the linkage seeds at the
// current i-period, and has the CRL signer revoke the device: its seeds
// on the linkage-based CRL, so that all its pseudonym certificates from
// this period on fail while earlier ones stay unlinkable, and its
// enrolment certificate on the hash-based CRL.

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

// maReport is the MA's record of a report.
type maReport struct {
	Kind     string    `json:"kind"`
	IRev     uint16    `json:"i_rev,omitempty"`
	Reported time.Time `json:"reported"`
}

// Report revokes the device that holds cert (COER), a pseudonym or
// roadside unit certificate the deployment's PCA issued, and issues new
// CRLs.
func (s *Service) Report(ctx context.Context, dep string, certCOER []byte) (Revocation, error) {
	d, err := s.load(ctx, dep)
	if err != nil {
		return Revocation{}, err
	}
	var cert ieee1609.Certificate
	if err := coer.Unmarshal(certCOER, &cert); err != nil {
		return Revocation{}, invalid("not a COER certificate: %v", err)
	}
	if err := s.profile.CheckCertSignature(&cert, d.pca); err != nil {
		return Revocation{}, invalid("not a certificate of this deployment's PCA: %v", err)
	}
	certID := mustID(&cert)
	pcaReq, err := s.requestOf(ctx, d, certID)
	if err != nil {
		return Revocation{}, err
	}
	link, rec, err := s.raLink(ctx, d, pcaReq)
	if err != nil {
		return Revocation{}, err
	}
	now := s.now()
	out := Revocation{Certificate: hex.EncodeToString(certID[:]), Enrolment: rec.Enrolment, Reported: s.clock()}
	var ops []storage.Op
	slot, err := s.randomSlot()
	if err != nil {
		return Revocation{}, internalErr(err)
	}
	if cert.ToBeSigned.ID.LinkageData != nil {
		out.Kind = "pseudonym"
		iRev := d.period(now)
		seed1, at1, end1, err := s.linkageSeed(ctx, d, 1, link.ELCI1, iRev)
		if err != nil {
			return Revocation{}, err
		}
		seed2, at2, end2, err := s.linkageSeed(ctx, d, 2, link.ELCI2, iRev)
		if err != nil {
			return Revocation{}, err
		}
		// Both chains began when the request came, so at1 == at2.
		out.IRev = max(at1, at2)
		seed1 = s.profile.Linkage.SeedAt(d.LA1ID, seed1, uint32(out.IRev-at1))
		seed2 = s.profile.Linkage.SeedAt(d.LA2ID, seed2, uint32(out.IRev-at2))
		op, err := d.revokeLinkedOp(slot, linkedRevocation{
			LA1: d.LA1ID, LA2: d.LA2ID, Seed1: seed1, Seed2: seed2, IRev: out.IRev, IMax: max(end1, end2), JMax: uint8(d.CertsPerPeriod),
		})
		if err != nil {
			return Revocation{}, err
		}
		ops = append(ops, op)
	} else {
		out.Kind = "roadside"
		id10, err := sec.HashedID10(&cert)
		if err != nil {
			return Revocation{}, internalErr(err)
		}
		op, err := d.revokeHashedOp(SeriesRoadside, hex.EncodeToString(id10[:]), ieee1609.Time32Of(cert.ToBeSigned.ValidityPeriod.End()))
		if err != nil {
			return Revocation{}, err
		}
		ops = append(ops, op)
	}
	op, err := d.revokeHashedOp(SeriesEnrolment, rec.Enrolment10, rec.EnrolmentEnd)
	if err != nil {
		return Revocation{}, err
	}
	ops = append(ops, op)
	if op, err = putOp(d.path(d.Tenants.MA, "ma", "reports/"+out.Certificate), maReport{Kind: out.Kind, IRev: out.IRev, Reported: out.Reported}); err != nil {
		return Revocation{}, err
	}
	ops = append(ops, op)
	st, err := s.backend()
	if err != nil {
		return Revocation{}, err
	}
	if err := batch(ctx, st, ops); err != nil {
		return Revocation{}, err
	}
	if err := s.block(ctx, d, rec.Enrolment); err != nil {
		return Revocation{}, err
	}
	if err := s.blockAtECA(ctx, d, rec.Enrolment); err != nil {
		return Revocation{}, err
	}
	if _, err := s.IssueCRLs(ctx, dep); err != nil {
		return Revocation{}, err
	}
	return out, nil
}

// blockAtECA marks the device whose enrolment certificate this is, so
// that it cannot enrol again.
func (s *Service) blockAtECA(ctx context.Context, d *deployment, enrolment string) error {
	st, err := s.backend()
	if err != nil {
		return err
	}
	id, err := st.Get(ctx, d.path(d.Tenants.ECA, "eca", "enrolled/"+enrolment))
	if err != nil {
		return storageErr(err)
	}
	path := d.path(d.Tenants.ECA, "eca", "devices/"+string(id))
	var dev DeviceEntry
	if _, err := getJSON(ctx, st, path, &dev); err != nil {
		return err
	}
	dev.Blocked = true
	op, err := putOp(path, dev)
	if err != nil {
		return err
	}
	return batch(ctx, st, []storage.Op{op})
}
