package trust

import (
	"slices"
	"sync"
	"time"

	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
)

// Store holds what a verifier trusts: root certificates, the authority
// certificates that chain to them, and the latest CRL of each series. It
// is safe for concurrent use.
type Store struct {
	profile *sec.Profile

	mu    sync.RWMutex
	roots map[ieee1609.HashedId8]*ieee1609.Certificate
	cas   map[ieee1609.HashedId8]*ieee1609.Certificate // verified authority certificates
	crls  map[crlKey]*crl
	// signed holds certificates whose signature verified under their
	// issuer: a vehicle broadcasts with one pseudonym for minutes, so its
	// certificate is checked once, not with every message.
	signed map[ieee1609.HashedId8]struct{}
}

// maxSigned bounds the signature cache; it is emptied when full.
const maxSigned = 1 << 16

// New returns an empty store under profile p.
func New(p *sec.Profile) *Store {
	return &Store{profile: p,
		roots:  map[ieee1609.HashedId8]*ieee1609.Certificate{},
		cas:    map[ieee1609.HashedId8]*ieee1609.Certificate{},
		crls:   map[crlKey]*crl{},
		signed: map[ieee1609.HashedId8]struct{}{},
	}
}

// Profile is the store's profile.
func (s *Store) Profile() *sec.Profile { return s.profile }

// AddRoot trusts a self-signed root certificate.
func (s *Store) AddRoot(c *ieee1609.Certificate) error {
	if c.Issuer.Self == nil {
		return fail(Malformed, "a root certificate must be self-signed")
	}
	if err := s.profile.CheckCertSignature(c, nil); err != nil {
		return fail(BadSignature, "root certificate: %v", err)
	}
	id, err := sec.HashedID8(c)
	if err != nil {
		return fail(Malformed, "%v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roots[id] = c
	return nil
}

// AddCertificate verifies an authority certificate at time at and keeps
// it for the chains of later certificates and data.
func (s *Store) AddCertificate(c *ieee1609.Certificate, at time.Time) error {
	if _, err := s.VerifyCertificate(c, at); err != nil {
		return err
	}
	id, err := sec.HashedID8(c)
	if err != nil {
		return fail(Malformed, "%v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cas[id] = c
	return nil
}

// Lookup returns a known root or authority certificate by HashedId8.
func (s *Store) Lookup(id ieee1609.HashedId8) *ieee1609.Certificate {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c := s.roots[id]; c != nil {
		return c
	}
	return s.cas[id]
}

// maxChain bounds the length of a certificate chain.
const maxChain = 8

// VerifyCertificate checks c at time at and returns its chain, c first
// and the root last: every issuer known, every signature good, every
// validity period covering at and nested in its issuer's, regions
// within the issuer's, application and issuing permissions granted by
// the issuer, and no certificate revoked by a CRL the store holds.
func (s *Store) VerifyCertificate(c *ieee1609.Certificate, at time.Time) ([]*ieee1609.Certificate, error) {
	chain := []*ieee1609.Certificate{c}
	for cur := c; ; {
		if err := s.checkAlone(cur, at); err != nil {
			return nil, err
		}
		if cur.Issuer.Self != nil {
			id, err := sec.HashedID8(cur)
			if err != nil {
				return nil, fail(Malformed, "%v", err)
			}
			s.mu.RLock()
			root := s.roots[id]
			s.mu.RUnlock()
			if root == nil {
				// AddRoot verified the trusted roots' self-signatures.
				return nil, fail(UnknownIssuer, "the chain ends at an untrusted root")
			}
			return chain, nil
		}
		issuerID, _ := sec.IssuerDigest(cur)
		issuer := s.Lookup(issuerID)
		if issuer == nil {
			return nil, fail(UnknownIssuer, "issuer %x is not known", issuerID[:])
		}
		if err := s.checkSignature(cur, issuer); err != nil {
			return nil, err
		}
		if err := s.checkAgainstIssuer(cur, issuer); err != nil {
			return nil, err
		}
		if err := s.checkRevoked(cur); err != nil {
			return nil, err
		}
		chain = append(chain, issuer)
		if len(chain) > maxChain {
			return nil, fail(Malformed, "the chain is longer than %d", maxChain)
		}
		cur = issuer
	}
}

// checkSignature verifies c under issuer, once per certificate.
func (s *Store) checkSignature(c, issuer *ieee1609.Certificate) error {
	id, err := sec.HashedID8(c)
	if err != nil {
		return fail(Malformed, "%v", err)
	}
	s.mu.RLock()
	_, ok := s.signed[id]
	s.mu.RUnlock()
	if ok {
		return nil
	}
	if err := s.profile.CheckCertSignature(c, issuer); err != nil {
		return fail(BadSignature, "%v", err)
	}
	s.mu.Lock()
	if len(s.signed) >= maxSigned {
		clear(s.signed)
	}
	s.signed[id] = struct{}{}
	s.mu.Unlock()
	return nil
}

// checkAlone checks what a certificate says of itself.
func (s *Store) checkAlone(c *ieee1609.Certificate, at time.Time) error {
	if c.Version != 3 {
		return fail(Malformed, "certificate version %d", c.Version)
	}
	if c.Type != ieee1609.CertTypeExplicit {
		if s.profile.ExplicitOnly {
			return fail(ImplicitCert, "the %s profile takes explicit certificates only", s.profile.Name)
		}
		return fail(UnsupportedAlg, "implicit certificates are not supported")
	}
	v := c.ToBeSigned.ValidityPeriod
	switch {
	case at.Before(v.Start.Time()):
		return fail(NotYetValid, "valid from %s", v.Start.Time().Format(time.RFC3339))
	case !at.Before(v.End()):
		return fail(Expired, "expired at %s", v.End().Format(time.RFC3339))
	}
	return nil
}

// checkAgainstIssuer checks validity nesting, region and permissions.
func (s *Store) checkAgainstIssuer(c, issuer *ieee1609.Certificate) error {
	cv, iv := c.ToBeSigned.ValidityPeriod, issuer.ToBeSigned.ValidityPeriod
	if cv.Start.Time().Before(iv.Start.Time()) || cv.End().After(iv.End()) {
		return fail(Expired, "the validity period extends beyond the issuer's")
	}
	if ir := issuer.ToBeSigned.Region; ir != nil {
		sr := c.ToBeSigned.Region
		if sr == nil {
			return fail(OutsideRegion, "the issuer is restricted to a region and the certificate is not")
		}
		if ok, known := regionWithin(sr, ir); !ok || !known {
			return fail(OutsideRegion, "the certificate's region is not within the issuer's")
		}
	}
	perms := issuer.ToBeSigned.CertIssuePermissions
	for _, ps := range c.ToBeSigned.AppPermissions {
		if !grants(perms, ps.Psid) {
			return fail(NotPermitted, "the issuer may not grant PSID %d", ps.Psid)
		}
	}
	for _, g := range append(slices.Clone(c.ToBeSigned.CertIssuePermissions), c.ToBeSigned.CertRequestPermissions...) {
		if g.SubjectPermissions.All != nil {
			if !slices.ContainsFunc(perms, func(p ieee1609.PsidGroupPermissions) bool { return p.SubjectPermissions.All != nil }) {
				return fail(NotPermitted, "the issuer may not grant all permissions")
			}
			continue
		}
		for _, r := range g.SubjectPermissions.Explicit {
			if !grants(perms, r.Psid) {
				return fail(NotPermitted, "the issuer may not grant PSID %d", r.Psid)
			}
		}
	}
	return nil
}

// grants reports whether issuing permissions cover psid.
func grants(perms []ieee1609.PsidGroupPermissions, psid ieee1609.Psid) bool {
	for _, p := range perms {
		if p.SubjectPermissions.All != nil {
			return true
		}
		for _, r := range p.SubjectPermissions.Explicit {
			if r.Psid == psid {
				return true
			}
		}
	}
	return false
}

// Verified is a signed SPDU that verified.
type Verified struct {
	Inner   *ieee1609.Data // the signed payload
	Payload []byte         // its unsecured content, or nil
	Header  ieee1609.HeaderInfo
	Signer  *ieee1609.Certificate
	Chain   []*ieee1609.Certificate
}

// Options say what a verifier expects of signed data.
type Options struct {
	// At is the time of verification (now when zero).
	At time.Time
	// Psid, when not zero, must be the header's PSID.
	Psid ieee1609.Psid
	// MaxAge, when not zero, refuses data generated longer ago; data
	// generated more than MaxAge in the future is refused too.
	MaxAge time.Duration
}

// VerifyData verifies signed data: its signer's chain at the generation
// time, the PSID in the signer's permissions, the generation location in
// its region, the signature, and returns the payload.
func (s *Store) VerifyData(d *ieee1609.Data, o Options) (*Verified, error) {
	at := o.At
	if at.IsZero() {
		at = time.Now()
	}
	sd := d.Content.SignedData
	if sd == nil || d.ProtocolVersion != 3 {
		return nil, fail(Malformed, "not signed data")
	}
	if sd.HashID != s.profile.HashAlg {
		return nil, fail(UnsupportedAlg, "hash algorithm %d", sd.HashID)
	}
	hdr := sd.TbsData.HeaderInfo
	if o.Psid != 0 && hdr.Psid != o.Psid {
		return nil, fail(NotPermitted, "PSID %d, expected %d", hdr.Psid, o.Psid)
	}
	var signer *ieee1609.Certificate
	switch si := sd.Signer; {
	case len(si.Certificate) == 1:
		signer = &si.Certificate[0]
	case si.Digest != nil:
		if signer = s.Lookup(*si.Digest); signer == nil {
			return nil, fail(UnknownIssuer, "signer %x is not known", si.Digest[:])
		}
	default:
		return nil, fail(Malformed, "the signer must be one certificate or a digest")
	}
	genTime := at
	if hdr.GenerationTime != nil {
		genTime = hdr.GenerationTime.Time()
		if o.MaxAge > 0 && (at.Sub(genTime) > o.MaxAge || genTime.Sub(at) > o.MaxAge) {
			return nil, fail(Expired, "generated at %s", genTime.Format(time.RFC3339Nano))
		}
	}
	if hdr.ExpiryTime != nil && !at.Before(hdr.ExpiryTime.Time()) {
		return nil, fail(Expired, "the data expired at %s", hdr.ExpiryTime.Time().Format(time.RFC3339))
	}
	chain, err := s.VerifyCertificate(signer, genTime)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(signer.ToBeSigned.AppPermissions, func(p ieee1609.PsidSsp) bool { return p.Psid == hdr.Psid }) {
		return nil, fail(NotPermitted, "the signer's certificate does not permit PSID %d", hdr.Psid)
	}
	if loc, r := hdr.GenerationLocation, regionOf(chain); loc != nil && r != nil {
		p := ieee1609.TwoDLocation{Latitude: loc.Latitude, Longitude: loc.Longitude}
		if ok, known := locationIn(p, r); !ok || !known {
			return nil, fail(OutsideRegion, "generated outside the signer's region")
		}
	}
	if err := s.profile.VerifySignedData(sd, signer); err != nil {
		return nil, fail(BadSignature, "%v", err)
	}
	p := sd.TbsData.Payload.Data
	if p == nil {
		return nil, fail(Malformed, "the signed data carries no payload")
	}
	return &Verified{Inner: p, Payload: p.Content.UnsecuredData, Header: hdr, Signer: signer, Chain: chain}, nil
}

// regionOf is the region of the first certificate of the chain that has
// one (a certificate without a region takes its issuer's).
func regionOf(chain []*ieee1609.Certificate) *ieee1609.GeographicRegion {
	for _, c := range chain {
		if c.ToBeSigned.Region != nil {
			return c.ToBeSigned.Region
		}
	}
	return nil
}

// DecodeData decodes an SPDU.
func DecodeData(b []byte) (*ieee1609.Data, error) {
	var d ieee1609.Data
	if err := coer.Unmarshal(b, &d); err != nil {
		return nil, fail(Malformed, "%v", err)
	}
	return &d, nil
}
