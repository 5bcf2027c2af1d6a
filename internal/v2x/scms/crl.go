package scms

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/linkage"
	"github.com/mimacrypto/mima/internal/v2x/sec"
)

// The CRL signer, in the root tenant, is the CRACA of every certificate
// the deployment issues (IEEE 1609.2-2022 5.1.3): it signs a linkage-based
// CRL of pseudonym certificates (series 1) and hash-based CRLs of
// enrolment (2) and roadside unit (3) certificates, each valid for a day
// and reissued on every revocation.

// crlLifetime is how long a CRL is current.
const crlLifetime = 24 * time.Hour

// linkedRevocation is a revoked device's seeds at period IRev.
type linkedRevocation struct {
	LA1   linkage.LaID `json:"la1"`
	LA2   linkage.LaID `json:"la2"`
	Seed1 linkage.Seed `json:"seed1"`
	Seed2 linkage.Seed `json:"seed2"`
	IRev  uint16       `json:"i_rev"`
	IMax  uint16       `json:"i_max"`
	JMax  uint8        `json:"j_max"`
}

// hashedRevocation is a revoked certificate of a hash-based series (its
// HashedId10 is in the record's path, or ID10).
type hashedRevocation struct {
	ID10   string          `json:"id10,omitempty"`
	Expiry ieee1609.Time32 `json:"expiry"`
}

// revokeLinked records a device's seeds; revokeHashed a certificate by
// HashedId10.
func (d *deployment) revokeLinkedOp(slot []byte, r linkedRevocation) (storage.Op, error) {
	return putOp(d.path(d.Tenants.Root, "crl", "linked/"+hex.EncodeToString(slot)), r)
}

func (d *deployment) revokeHashedOp(series uint16, id10 string, expiry ieee1609.Time32) (storage.Op, error) {
	return putOp(d.path(d.Tenants.Root, "crl", "hashed/"+strconv.Itoa(int(series))+"/"+id10), hashedRevocation{Expiry: expiry})
}

// IssueCRLs signs the current CRLs of every series and returns them.
func (s *Service) IssueCRLs(ctx context.Context, dep string) ([][]byte, error) {
	d, st, err := s.open(ctx, dep)
	if err != nil {
		return nil, err
	}
	now := s.now()
	craca, err := certID(d.crl)
	if err != nil {
		return nil, err
	}
	base := ieee1609.CrlContents{
		Version: 1, CrlCraca: craca, IssueDate: ieee1609.Time32Of(now), NextCrl: ieee1609.Time32Of(now.Add(crlLifetime)),
	}
	linked, err := s.linkedCRL(ctx, d, st, now)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	var ops []storage.Op
	for _, series := range []uint16{SeriesPseudonym, SeriesEnrolment, SeriesRoadside} {
		c := base
		c.CrlSeries = series
		if series == SeriesPseudonym {
			c.TypeSpecific.FullLinkedCrl = linked
		} else if c.TypeSpecific.FullHashCrl, err = s.hashedCRL(ctx, d, st, series, now); err != nil {
			return nil, err
		}
		b, err := s.signCRL(ctx, d, &c)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
		ops = append(ops, storage.Op{Key: d.path(d.Tenants.Root, "crl", "current/"+strconv.Itoa(int(series))), Value: b})
	}
	if err := batch(ctx, st, ops); err != nil {
		return nil, err
	}
	return out, nil
}

// linkedCRL gathers the revoked devices whose certificates last beyond
// now, with their seeds hashed forward to the current period.
func (s *Service) linkedCRL(ctx context.Context, d *deployment, st storage.Backend, now time.Time) (*ieee1609.LinkageValueCrl, error) {
	keys, err := st.List(ctx, d.path(d.Tenants.Root, "crl", "linked/"), "", 0)
	if err != nil {
		return nil, fault.Storage(err)
	}
	iNow := d.period(now)
	type group struct {
		jMax     uint8
		la1, la2 linkage.LaID
		iMax     uint16
	}
	entries := map[group][]ieee1609.IndividualRevocation{}
	for _, k := range keys {
		var r linkedRevocation
		if _, err := getJSON(ctx, st, k, &r); err != nil {
			return nil, err
		}
		if r.IMax < iNow {
			continue // every certificate of the device has expired
		}
		s1, s2 := r.Seed1, r.Seed2
		if iNow > r.IRev {
			s1 = s.profile.Linkage.SeedAt(r.LA1, s1, uint32(iNow-r.IRev))
			s2 = s.profile.Linkage.SeedAt(r.LA2, s2, uint32(iNow-r.IRev))
		}
		g := group{r.JMax, r.LA1, r.LA2, r.IMax}
		entries[g] = append(entries[g], ieee1609.IndividualRevocation{LinkageSeed1: ieee1609.Seed(s1), LinkageSeed2: ieee1609.Seed(s2)})
	}
	groups := make([]group, 0, len(entries))
	for g := range entries {
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b group) int {
		return cmp.Or(cmp.Compare(a.jMax, b.jMax), bytes.Compare(a.la1[:], b.la1[:]), bytes.Compare(a.la2[:], b.la2[:]), cmp.Compare(a.iMax, b.iMax))
	})
	crl := &ieee1609.LinkageValueCrl{IRev: iNow, Individual: []ieee1609.JMaxGroup{}}
	for _, g := range groups {
		im := ieee1609.IMaxGroup{IMax: g.iMax, Contents: entries[g]}
		n := len(crl.Individual)
		if n == 0 || crl.Individual[n-1].Jmax != g.jMax {
			crl.Individual = append(crl.Individual, ieee1609.JMaxGroup{Jmax: g.jMax})
			n++
		}
		jg := &crl.Individual[n-1]
		m := len(jg.Contents)
		if m == 0 || jg.Contents[m-1].La1ID != ieee1609.LaID(g.la1) || jg.Contents[m-1].La2ID != ieee1609.LaID(g.la2) {
			jg.Contents = append(jg.Contents, ieee1609.LAGroup{La1ID: ieee1609.LaID(g.la1), La2ID: ieee1609.LaID(g.la2)})
			m++
		}
		jg.Contents[m-1].Contents = append(jg.Contents[m-1].Contents, im)
	}
	return crl, nil
}

// hashedCRL lists the unexpired revoked certificates of a series.
func (s *Service) hashedCRL(ctx context.Context, d *deployment, st storage.Backend, series uint16, now time.Time) (*ieee1609.HashIDCrl, error) {
	prefix := d.path(d.Tenants.Root, "crl", "hashed/"+strconv.Itoa(int(series))+"/")
	keys, err := st.List(ctx, prefix, "", 0)
	if err != nil {
		return nil, fault.Storage(err)
	}
	crl := &ieee1609.HashIDCrl{CrlSerial: uint32(ieee1609.Time32Of(now)), Entries: []ieee1609.HashBasedRevocationInfo{}}
	for _, k := range keys {
		var r hashedRevocation
		if _, err := getJSON(ctx, st, k, &r); err != nil {
			return nil, err
		}
		if r.Expiry.Time().Before(now) {
			continue
		}
		var e ieee1609.HashBasedRevocationInfo
		if b, err := hex.DecodeString(strings.TrimPrefix(k, prefix)); err != nil || copy(e.ID[:], b) != len(e.ID) {
			return nil, fault.Unexpected(err)
		}
		e.Expiry = r.Expiry
		crl.Entries = append(crl.Entries, e)
	}
	return crl, nil
}

// signCRL makes a SecuredCrl: CRL contents signed by the CRL signer with
// PSID CrlPsid and no other header field (IEEE 1609.2-2022 7.3).
func (s *Service) signCRL(ctx context.Context, d *deployment, c *ieee1609.CrlContents) ([]byte, error) {
	b, err := encode(c)
	if err != nil {
		return nil, err
	}
	key, err := s.keys.Signer(ctx, d.Tenants.Root, keyName(d.Name, "crl", "sign"))
	if err != nil {
		return nil, err
	}
	data, err := s.profile.SignData(s.rand, key, d.crl, sec.Unsecured(b), ieee1609.HeaderInfo{Psid: s.profile.CrlPsid}, false)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return encode(data)
}

// CRLs returns the current CRLs, issuing them when there are none or
// they are due to be replaced within an hour.
func (s *Service) CRLs(ctx context.Context, dep string) ([][]byte, error) {
	d, st, err := s.open(ctx, dep)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, series := range []uint16{SeriesPseudonym, SeriesEnrolment, SeriesRoadside} {
		b, err := st.Get(ctx, d.path(d.Tenants.Root, "crl", "current/"+strconv.Itoa(int(series))))
		if err != nil {
			return s.IssueCRLs(ctx, dep)
		}
		var data ieee1609.Data
		var c ieee1609.CrlContents
		if coer.Unmarshal(b, &data) != nil || data.Content.SignedData == nil ||
			coer.Unmarshal(data.Content.SignedData.TbsData.Payload.Data.Content.UnsecuredData, &c) != nil ||
			c.NextCrl.Time().Before(s.now().Add(time.Hour)) {
			return s.IssueCRLs(ctx, dep)
		}
		out = append(out, b)
	}
	return out, nil
}

// CompositeCRL is the CompositeCrlSpdu devices download: every current
// CRL with the home CTL (IEEE 1609.2.1 Ieee1609Dot2Dot1CertManagement).
func (s *Service) CompositeCRL(ctx context.Context, dep string) ([]byte, error) {
	crls, err := s.CRLs(ctx, dep)
	if err != nil {
		return nil, err
	}
	ctl, err := s.homeCTL(ctx, dep)
	if err != nil {
		return nil, err
	}
	cc := &ieee1609.CompositeCrl{HomeCtl: *ctl}
	for _, b := range crls {
		var data ieee1609.Data
		if err := coer.Unmarshal(b, &data); err != nil {
			return nil, fault.Unexpected(err)
		}
		cc.Crl = append(cc.Crl, data)
	}
	b, err := encode(pdu(ieee1609.ScmsContent{Cert: &ieee1609.CertManagementPdu{CompositeCrl: cc}}))
	if err != nil {
		return nil, err
	}
	return encode(sec.Unsecured(b))
}

// randomSlot is 16 random bytes for a record name.
func (s *Service) randomSlot() ([]byte, error) {
	b := make([]byte, 16)
	_, err := io.ReadFull(s.rand, b)
	return b, err
}
