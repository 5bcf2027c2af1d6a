package trust

import (
	"bytes"
	"sync"
	"time"

	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/linkage"
	"github.com/mimacrypto/mima/internal/v2x/sec"
)

// crlKey names a CRL series of a CRACA (IEEE 1609.2-2022 5.1.3).
type crlKey struct {
	craca  ieee1609.HashedId8
	series uint16
}

// crl is the latest CRL of a series.
type crl struct {
	issueDate ieee1609.Time32
	nextCrl   ieee1609.Time32
	hashes    map[ieee1609.HashedId10]struct{}
	linked    []revocation

	// lvs caches, per i-period, every linkage value the linked entries
	// revoke, so that a certificate costs one map lookup.
	mu  sync.Mutex
	lvs map[uint16]map[ieee1609.Lv]struct{}
}

// revokedValues returns the linkage values revoked in period i, computing
// them on first use (2·jMax block encryptions and i-iRev hashes per seed
// and entry).
func (c *crl) revokedValues(suite linkage.Suite, i uint16) map[ieee1609.Lv]struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if set, ok := c.lvs[i]; ok {
		return set
	}
	set := map[ieee1609.Lv]struct{}{}
	for _, r := range c.linked {
		if i > r.iMax {
			continue
		}
		for _, v := range suite.Values(r.la1, r.la2, r.seed1, r.seed2, uint32(r.iRev), uint32(i), uint32(r.jMax)) {
			set[v] = struct{}{}
		}
	}
	if c.lvs == nil {
		c.lvs = map[uint16]map[ieee1609.Lv]struct{}{}
	}
	c.lvs[i] = set
	return set
}

// revocation is one device's pair of linkage seeds at iRev.
type revocation struct {
	la1, la2     linkage.LaID
	seed1, seed2 linkage.Seed
	iRev, iMax   uint16
	jMax         uint8
}

// AddCRL verifies a SecuredCrl (IEEE 1609.2-2022 7.3) at time at and
// makes it the current CRL of its series unless a later one is held. The
// signer must chain to a trusted root, be permitted the CRL PSID, and be
// the CRACA or issued by it. Certificates name their CRACA by HashedId3
// and their series; delta CRLs are not supported.
func (s *Store) AddCRL(d *ieee1609.Data, at time.Time) error {
	sd := d.Content.SignedData
	if sd == nil {
		return fail(Malformed, "a CRL is signed data")
	}
	if sd.TbsData.HeaderInfo.Psid != s.profile.CrlPsid {
		return fail(NotPermitted, "CRL PSID %d, expected %d", sd.TbsData.HeaderInfo.Psid, s.profile.CrlPsid)
	}
	if len(sd.Signer.Certificate) != 1 {
		return fail(Malformed, "a CRL carries its signer's certificate")
	}
	signer := &sd.Signer.Certificate[0]
	v, err := s.VerifyData(d, Options{At: at})
	if err != nil {
		return err
	}
	var c ieee1609.CrlContents
	if err := coer.Unmarshal(v.Payload, &c); err != nil || c.Version != 1 {
		return fail(Malformed, "CRL contents: %v", err)
	}
	signerID, _ := sec.HashedID8(signer)
	issuerID, _ := sec.IssuerDigest(signer)
	if signerID != c.CrlCraca && issuerID != c.CrlCraca {
		return fail(NotPermitted, "the CRL signer is neither the CRACA nor issued by it")
	}
	if !at.Before(c.NextCrl.Time()) {
		return fail(Expired, "the CRL was due to be replaced at %s", c.NextCrl.Time().Format(time.RFC3339))
	}
	entry := &crl{issueDate: c.IssueDate, nextCrl: c.NextCrl, hashes: map[ieee1609.HashedId10]struct{}{}}
	switch t := c.TypeSpecific; {
	case t.FullHashCrl != nil:
		for _, e := range t.FullHashCrl.Entries {
			entry.hashes[e.ID] = struct{}{}
		}
	case t.FullLinkedCrl != nil:
		entry.linked = linkedEntries(t.FullLinkedCrl.IRev, t.FullLinkedCrl.Individual)
	case t.FullLinkedCrlWithAlg != nil:
		entry.linked = linkedEntries(t.FullLinkedCrlWithAlg.IRev, t.FullLinkedCrlWithAlg.Individual)
	default:
		return fail(UnsupportedAlg, "only full hash-based and linkage-based CRLs are supported")
	}
	key := crlKey{c.CrlCraca, c.CrlSeries}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.crls[key]; old == nil || old.issueDate <= entry.issueDate {
		s.crls[key] = entry
	}
	return nil
}

func linkedEntries(iRev uint16, groups []ieee1609.JMaxGroup) []revocation {
	var out []revocation
	for _, g := range groups {
		for _, la := range g.Contents {
			for _, im := range la.Contents {
				for _, r := range im.Contents {
					out = append(out, revocation{
						la1: linkage.LaID(la.La1ID), la2: linkage.LaID(la.La2ID),
						seed1: linkage.Seed(r.LinkageSeed1), seed2: linkage.Seed(r.LinkageSeed2),
						iRev: iRev, iMax: im.IMax, jMax: g.Jmax,
					})
				}
			}
		}
	}
	return out
}

// checkRevoked looks c up in the CRL of its CRACA and series.
func (s *Store) checkRevoked(c *ieee1609.Certificate) error {
	s.mu.RLock()
	var entry *crl
	for k, e := range s.crls {
		if k.series == c.ToBeSigned.CrlSeries && bytes.Equal(k.craca[5:], c.ToBeSigned.CracaID[:]) {
			entry = e
			break
		}
	}
	s.mu.RUnlock()
	if entry == nil {
		return nil
	}
	if len(entry.hashes) > 0 {
		id, err := sec.HashedID10(c)
		if err != nil {
			return fail(Malformed, "%v", err)
		}
		if _, ok := entry.hashes[id]; ok {
			return fail(Revoked, "the certificate is on the CRL of series %d", c.ToBeSigned.CrlSeries)
		}
	}
	if ld := c.ToBeSigned.ID.LinkageData; ld != nil && len(entry.linked) > 0 {
		if _, ok := entry.revokedValues(s.profile.Linkage, ld.ICert)[ld.LinkageValue]; ok {
			return fail(Revoked, "the certificate's linkage value is on the CRL of series %d", c.ToBeSigned.CrlSeries)
		}
	}
	return nil
}

// Revoked reports whether a certificate is revoked by the CRLs the store
// holds.
func (s *Store) Revoked(c *ieee1609.Certificate) (bool, error) {
	err := s.checkRevoked(c)
	if CodeOf(err) == Revoked {
		return true, nil
	}
	return false, err
}
