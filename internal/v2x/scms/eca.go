package scms

import (
	"context"
	"encoding/hex"
	"regexp"
	"slices"
	"time"

	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
)

// Device kinds the ECA enrols.
const (
	Vehicle  = "vehicle"
	Roadside = "roadside"
)

// DeviceEntry is a device the device configuration manager allows to
// enrol: its canonical id (serial number) and kind.
type DeviceEntry struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`
	Added    time.Time `json:"added"`
	Enrolled []string  `json:"enrolled,omitempty"` // HashedId8 (hex) of its enrolment certificates
	Blocked  bool      `json:"blocked,omitempty"`
	// LastRequest is the HashedId8 (hex) of the enrolment request last
	// answered: the same request again gets the same certificate.
	LastRequest string `json:"last_request,omitempty"`
}

// enrolled is the ECA's record of an enrolment certificate it issued:
// what the MA needs to revoke it.
type enrolled struct {
	Device string          `json:"device"`
	ID10   string          `json:"id10"` // HashedId10 (hex), for the hash-based CRL
	End    ieee1609.Time32 `json:"end"`  // when it expires
	Cert   []byte          `json:"cert"` // COER, to answer a retried request
}

var devicePattern = regexp.MustCompile(`^[\x21-\x7e]{1,64}$`)

// enrolmentYears is the validity of enrolment certificates.
const enrolmentYears = 6

// maxClockSkew is how far a request's generation time may be from now.
const maxClockSkew = 10 * time.Minute

// AllowDevices adds devices to the ECA's allow-list (or changes their
// kind); blocked devices stay blocked.
func (s *Service) AllowDevices(ctx context.Context, dep string, devices []DeviceEntry) error {
	d, st, err := s.open(ctx, dep)
	if err != nil {
		return err
	}
	var ops []storage.Op
	for _, e := range devices {
		if !devicePattern.MatchString(e.ID) || authn.DotSegment(e.ID) {
			return fault.Invalid(`device id %q: 1 to 64 printable ASCII characters, other than "." and ".."`, e.ID)
		}
		if e.Kind == "" {
			e.Kind = Vehicle
		}
		if e.Kind != Vehicle && e.Kind != Roadside {
			return fault.Invalid("device kind %q: vehicle or roadside", e.Kind)
		}
		var old DeviceEntry
		found, err := getJSON(ctx, st, d.path(d.Tenants.ECA, "eca", "devices/"+e.ID), &old)
		if err != nil {
			return err
		}
		if found {
			old.Kind = e.Kind
			e = old
		} else {
			e.Added, e.Enrolled, e.Blocked = s.clock(), nil, false
		}
		op, err := putOp(d.path(d.Tenants.ECA, "eca", "devices/"+e.ID), e)
		if err != nil {
			return err
		}
		ops = append(ops, op)
	}
	return batch(ctx, st, ops)
}

// Device returns an allow-list entry.
func (s *Service) Device(ctx context.Context, dep, id string) (DeviceEntry, error) {
	d, st, err := s.open(ctx, dep)
	if err != nil {
		return DeviceEntry{}, err
	}
	var e DeviceEntry
	found, err := getJSON(ctx, st, d.path(d.Tenants.ECA, "eca", "devices/"+id), &e)
	if err == nil && !found {
		err = fault.New(fault.NotFound, "device %q is not on the allow-list", id)
	}
	return e, err
}

// Enrol answers an EeEcaCertRequestSpdu (IEEE 1609.2.1 6.3.5.1): a
// self-signed request whose canonicalId must be an allowed device and
// whose requested permissions must be its kind's. It returns the
// EcaEeCertResponseSpdu, signed by the ECA, with the enrolment
// certificate and the ECA's chain.
func (s *Service) Enrol(ctx context.Context, dep string, spdu []byte) ([]byte, error) {
	d, err := s.load(ctx, dep)
	if err != nil {
		return nil, err
	}
	data, err := decodeData(spdu)
	if err != nil {
		return nil, err
	}
	if data.Content.SignedCertificateRequest == nil {
		return nil, refused("an enrolment request is a signed certificate request")
	}
	var scr ieee1609.SignedCertificateRequest
	if err := coer.Unmarshal(data.Content.SignedCertificateRequest, &scr); err != nil {
		return nil, refused("signed certificate request: %v", err)
	}
	req := scr.TbsRequest.Content.EcaEe
	if scr.TbsRequest.Version != 2 || req == nil || req.EeEcaCertRequest == nil {
		return nil, refused("not an EE-ECA certificate request")
	}
	r := req.EeEcaCertRequest
	if scr.Signer.Self == nil {
		return nil, refused("an enrolment request is self-signed")
	}
	if _, err := s.profile.VerifyRequest(&scr); err != nil {
		return nil, refused("the request's signature: %v", err)
	}
	now := s.now()
	if gt := r.GenerationTime.Time(); gt.Sub(now) > maxClockSkew || now.Sub(gt) > maxClockSkew {
		return nil, refused("generated at %s, more than %s from now", gt.Format(time.RFC3339), maxClockSkew)
	}
	if r.Version != 2 || r.Type != ieee1609.CertTypeExplicit || r.CanonicalID == nil || len(r.TbsCert.CertRequestPermissions) == 0 {
		return nil, refused("an enrolment request is version 2, explicit, with a canonical id and requested permissions")
	}
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	// One transaction conditioned on the device's entry, without a lock
	// across the signatures: a misbehaviour revocation (which blocks the
	// entry) or another enrolment in between makes it run again.
	var out []byte
	err = storage.Atomic(ctx, st, func(tx storage.Backend) error {
		devPath := d.path(d.Tenants.ECA, "eca", "devices/"+*r.CanonicalID)
		var dev DeviceEntry
		found, err := getJSON(ctx, tx, devPath, &dev)
		switch {
		case err != nil:
			return err
		case !found:
			return fault.New(fault.DeviceNotAllowed, "device %q is not on the ECA's allow-list", *r.CanonicalID)
		case dev.Blocked:
			return fault.New(fault.DeviceBlocked, "device %q was revoked for misbehaviour", *r.CanonicalID)
		}
		allowed := d.VehiclePsids
		if dev.Kind == Roadside {
			allowed = d.RoadsidePsids
		}
		for _, g := range r.TbsCert.CertRequestPermissions {
			if g.SubjectPermissions.All != nil {
				return refused("a device may not request all permissions")
			}
			for _, p := range g.SubjectPermissions.Explicit {
				if !slices.Contains(allowed, p.Psid) && p.Psid != s.profile.SecurityMgmtPsid {
					return refused("a %s may not request PSID %d", dev.Kind, p.Psid)
				}
			}
		}
		reqHash := s.profile.DataHashedID8(spdu)
		reqHex := hex.EncodeToString(reqHash[:])
		// A retry (or replay) of the request last answered gets the same
		// certificate, not another.
		if dev.LastRequest == reqHex && len(dev.Enrolled) > 0 {
			e, err := s.enrolmentRecord(ctx, d, tx, dev.Enrolled[len(dev.Enrolled)-1])
			if err != nil {
				return err
			}
			var cert ieee1609.Certificate
			if err := coer.Unmarshal(e.Cert, &cert); err != nil {
				return fault.Unexpected(err)
			}
			out, err = s.enrolResponse(ctx, d, reqHash, &cert)
			return err
		}
		cert, err := s.issueEnrolment(ctx, d, r, now)
		if err != nil {
			return err
		}
		if out, err = s.enrolResponse(ctx, d, reqHash, cert); err != nil {
			return err
		}
		id, err := certID(cert)
		if err != nil {
			return err
		}
		id10, err := certID10(cert)
		if err != nil {
			return err
		}
		der, err := encode(cert)
		if err != nil {
			return err
		}
		dev.Enrolled, dev.LastRequest = append(dev.Enrolled, hex.EncodeToString(id[:])), reqHex
		ops := make([]storage.Op, 2)
		if ops[0], err = putOp(devPath, dev); err != nil {
			return err
		}
		ops[1], err = putOp(d.path(d.Tenants.ECA, "eca", "enrolled/"+hex.EncodeToString(id[:])), enrolled{
			Device: dev.ID, ID10: hex.EncodeToString(id10[:]), End: ieee1609.Time32Of(cert.ToBeSigned.ValidityPeriod.End()), Cert: der,
		})
		if err != nil {
			return err
		}
		return batch(ctx, tx, ops)
	})
	if err != nil {
		return nil, fault.Storage(err)
	}
	return out, nil
}

// enrolResponse is the ECA's signed answer to an enrolment request.
func (s *Service) enrolResponse(ctx context.Context, d *deployment, reqHash ieee1609.HashedId8, cert *ieee1609.Certificate) ([]byte, error) {
	resp := pdu(ieee1609.ScmsContent{EcaEe: &ieee1609.EcaEePdu{EcaEeCertResponse: &ieee1609.EcaEeCertResponse{
		Version: 2, RequestHash: reqHash,
		EcaCertChain: []ieee1609.Certificate{*d.eca, *d.ica, *d.root},
		Certificate:  *cert,
	}}})
	signed, err := s.signPdu(ctx, d.Tenants.ECA, keyName(d.Name, "eca", "sign"), d.eca, resp)
	if err != nil {
		return nil, err
	}
	return encode(signed)
}

// issueEnrolment certifies the request's key as an enrolment certificate.
func (s *Service) issueEnrolment(ctx context.Context, d *deployment, r *ieee1609.EeEcaCertRequest, now time.Time) (*ieee1609.Certificate, error) {
	if r.TbsCert.VerifyKeyIndicator.VerificationKey == nil {
		return nil, refused("the request carries no verification key")
	}
	if _, err := sec.VerifyingKey(*r.TbsCert.VerifyKeyIndicator.VerificationKey); err != nil {
		return nil, refused("verification key: %v", err)
	}
	craca, err := sec.HashedID3(d.crl)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	years := uint16(enrolmentYears)
	name := *r.CanonicalID
	tbs := ieee1609.ToBeSignedCertificate{
		ID:                     ieee1609.CertificateID{Name: &name},
		CracaID:                craca,
		CrlSeries:              SeriesEnrolment,
		ValidityPeriod:         ieee1609.ValidityPeriod{Start: ieee1609.Time32Of(now), Duration: ieee1609.Duration{Years: &years}},
		Region:                 d.region,
		AppPermissions:         []ieee1609.PsidSsp{{Psid: s.profile.SecurityMgmtPsid}},
		CertRequestPermissions: r.TbsCert.CertRequestPermissions,
		VerifyKeyIndicator:     r.TbsCert.VerifyKeyIndicator,
	}
	if end := d.eca.ToBeSigned.ValidityPeriod.End(); tbs.ValidityPeriod.End().After(end) {
		tbs.ValidityPeriod.Duration = ieee1609.Hours(uint16(min(end.Sub(now)/time.Hour, 65535)))
	}
	key, err := s.keys.Signer(ctx, d.Tenants.ECA, keyName(d.Name, "eca", "sign"))
	if err != nil {
		return nil, err
	}
	c, err := s.profile.Issue(s.rand, tbs, d.eca, key)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return c, nil
}
