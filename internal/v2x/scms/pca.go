package scms

//lint:file-ignore SA1019 v2x keeps points as *ecdsa.PublicKey on two curves (SM2, P-256) and butterfly keys add points, which gmsm v0.44.0 offers for SM2 only through elliptic.Curve; moving v2x to encoded points is open work (issue 23 item 6).

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"encoding/hex"
	"io"
	"math/big"
	"slices"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/v2x/butterfly"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/linkage"
	"github.com/mimacrypto/mima/internal/v2x/sec"
)

// The pseudonym CA (the ACA of IEEE 1609.2.1). It takes RaAcaCertRequests
// signed by the RA, each with a cocoon verification key B and
// encryption key Q; for a pseudonym it opens the two pre-linkage values,
// certifies B + c·G for a random c with linkage data {i, plv1 ⊕ plv2},
// and returns the certificate and c encrypted to Q and signed
// (AcaEeCertResponsePrivateSpdu), so that only the device reads them. A
// roadside unit's application certificate certifies its own key.

// issued is what the PCA keeps of a certificate: the hash of the request
// that asked for it, which only the RA can map to a device.
type issued struct {
	Request string `json:"request"` // HashedId8 (hex) of the RaAcaCertRequestSpdu
}

// certify answers a batch of RaAcaCertRequestSpdus with
// AcaRaCertResponseSpdus, in order.
func (s *Service) certify(ctx context.Context, d *deployment, requests [][]byte) ([][]byte, error) {
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	key, err := s.keys.Signer(ctx, d.Tenants.PCA, keyName(d.Name, "pca", "sign"))
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(requests))
	var ops []storage.Op
	for n, raw := range requests {
		cert, private, err := s.certifyOne(ctx, d, key, raw)
		if err != nil {
			return nil, err
		}
		reqHash := s.profile.DataHashedID8(raw)
		resp := pdu(ieee1609.ScmsContent{AcaRa: &ieee1609.AcaRaPdu{AcaRaCertResponse: &ieee1609.AcaRaCertResponse{
			Version: 2, GenerationTime: ieee1609.Time32Of(s.now()), RequestHash: reqHash,
			AcaResponse: ieee1609.AcaResponse{Private: private},
		}}})
		signed, err := s.signPdu(ctx, d.Tenants.PCA, keyName(d.Name, "pca", "sign"), d.pca, resp)
		if err != nil {
			return nil, err
		}
		if out[n], err = encode(signed); err != nil {
			return nil, err
		}
		id, err := certID(cert)
		if err != nil {
			return nil, err
		}
		op, err := putOp(d.issuedPath(cert, id), issued{Request: hex.EncodeToString(reqHash[:])})
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
		if cert.ToBeSigned.ID.LinkageData == nil {
			// A roadside unit's certificate, which the MA revokes by
			// hash with the unit, whichever of its certificates is
			// reported.
			id10, err := certID10(cert)
			if err != nil {
				return nil, err
			}
			v := cert.ToBeSigned.ValidityPeriod
			if op, err = putOp(d.roadsidePath(d.expiryPeriod(v), hex.EncodeToString(reqHash[:])),
				hashedRevocation{ID10: hex.EncodeToString(id10[:]), Expiry: ieee1609.Time32Of(v.End())}); err != nil {
				return nil, err
			}
			ops = append(ops, op)
		}
	}
	if err := batch(ctx, st, ops); err != nil {
		return nil, err
	}
	return out, nil
}

// certifyOne issues the certificate of one request and returns it with
// the private (encrypted, then signed) response for the device.
func (s *Service) certifyOne(ctx context.Context, d *deployment, key crypto.Signer, raw []byte) (*ieee1609.Certificate, *ieee1609.Data, error) {
	data, err := decodeData(raw)
	if err != nil {
		return nil, nil, err
	}
	var scr ieee1609.SignedCertificateRequest
	if data.Content.SignedCertificateRequest == nil || coer.Unmarshal(data.Content.SignedCertificateRequest, &scr) != nil {
		return nil, nil, refused("not a signed certificate request")
	}
	signer, err := s.profile.VerifyRequest(&scr)
	if err != nil {
		return nil, nil, refused("the RA's signature: %v", err)
	}
	raID, _ := sec.HashedID8(d.ra)
	if signer == nil {
		return nil, nil, refused("the request is not signed by the RA")
	}
	if id, _ := sec.HashedID8(signer); id != raID {
		return nil, nil, refused("the request is not signed by the RA")
	}
	ar := scr.TbsRequest.Content.AcaRa
	if ar == nil || ar.RaAcaCertRequest == nil {
		return nil, nil, refused("not an RA-ACA certificate request")
	}
	r := ar.RaAcaCertRequest
	if r.Version != 2 || r.Type != ieee1609.CertTypeExplicit || r.CertEncKey == nil || r.TbsCert.VerifyKeyIndicator.VerificationKey == nil {
		return nil, nil, refused("an RA-ACA request is version 2, explicit, with a verification and an encryption key")
	}
	q, err := sec.EncryptingKey(*r.CertEncKey)
	if err != nil {
		return nil, nil, refused("encryption key: %v", err)
	}
	b, err := sec.VerifyingKey(*r.TbsCert.VerifyKeyIndicator.VerificationKey)
	if err != nil {
		return nil, nil, refused("verification key: %v", err)
	}
	craca, err := sec.HashedID3(d.crl)
	if err != nil {
		return nil, nil, fault.Unexpected(err)
	}
	tbs := ieee1609.ToBeSignedCertificate{
		ID: r.TbsCert.ID, CracaID: craca, ValidityPeriod: r.TbsCert.ValidityPeriod, Region: d.region,
		AppPermissions: r.TbsCert.AppPermissions,
	}
	var privateKeyInfo *[32]byte
	allowed := d.RoadsidePsids
	if r.LinkageInfo != nil {
		if r.Flags[0]&ieee1609.FlagButterflyExplicit == 0 {
			return nil, nil, refused("a pseudonym request is butterfly explicit")
		}
		allowed = d.VehiclePsids
		i := d.period(r.TbsCert.ValidityPeriod.Start.Time())
		if vp, want := r.TbsCert.ValidityPeriod, d.periodValidity(i); vp.Start != want.Start || vp.Duration.Length() != want.Duration.Length() {
			return nil, nil, refused("a pseudonym certificate is valid for one i-period")
		}
		lv, err := s.linkageValue(ctx, d, r.LinkageInfo)
		if err != nil {
			return nil, nil, err
		}
		c, err := s.randScalar()
		if err != nil {
			return nil, nil, fault.Unexpected(err)
		}
		pub, err := s.profile.Butterfly.CertPublic(butterfly.Point{X: b.X, Y: b.Y}, c)
		if err != nil {
			return nil, nil, refused("cocoon key: %v", err)
		}
		b = &ecdsa.PublicKey{Curve: b.Curve, X: pub.X, Y: pub.Y}
		tbs.ID = ieee1609.CertificateID{LinkageData: &ieee1609.LinkageData{ICert: i, LinkageValue: lv}}
		tbs.CrlSeries = SeriesPseudonym
		privateKeyInfo = new([32]byte)
		c.FillBytes(privateKeyInfo[:])
	} else {
		tbs.CrlSeries = SeriesRoadside
	}
	for _, p := range tbs.AppPermissions {
		if !slices.Contains(allowed, p.Psid) {
			return nil, nil, refused("PSID %d may not be certified here", p.Psid)
		}
	}
	vk := s.profile.VerificationKey(b)
	tbs.VerifyKeyIndicator = ieee1609.VerificationKeyIndicator{VerificationKey: &vk}
	cert, err := s.profile.Issue(s.rand, tbs, d.pca, key)
	if err != nil {
		return nil, nil, fault.Unexpected(err)
	}
	plain, err := encode(pdu(ieee1609.ScmsContent{AcaEe: &ieee1609.AcaEePdu{AcaEeCertResponse: &ieee1609.AcaEeCertResponse{
		Version: 2, GenerationTime: ieee1609.Time32Of(s.now()), Certificate: *cert, PrivateKeyInfo: privateKeyInfo,
	}}}))
	if err != nil {
		return nil, nil, err
	}
	rek, err := encode(r.CertEncKey)
	if err != nil {
		return nil, nil, err
	}
	ed, err := s.profile.Encrypt(s.rand, plain, sec.Recipient{Key: q, ID: s.profile.DataHashedID8(rek), Kind: sec.REKRecipient})
	if err != nil {
		return nil, nil, fault.Unexpected(err)
	}
	private, err := s.signAs(ctx, d.Tenants.PCA, keyName(d.Name, "pca", "sign"), d.pca, &ieee1609.Data{ProtocolVersion: 3, Content: ieee1609.Content{EncryptedData: ed}})
	if err != nil {
		return nil, nil, err
	}
	return cert, private, nil
}

// linkageValue opens the two pre-linkage values and combines them.
func (s *Service) linkageValue(ctx context.Context, d *deployment, li *ieee1609.LinkageInfo) (ieee1609.Lv, error) {
	var plvs [2][9]byte
	for n, e := range []ieee1609.EncryptedIndividualPLV{li.EncPlv1, li.EncPlv2} {
		if want := []linkage.LaID{d.LA1ID, d.LA2ID}[n]; linkage.LaID(e.LaID) != want {
			return ieee1609.Lv{}, refused("pre-linkage value %d is from LA %x, expected %x", n+1, e.LaID[:], want[:])
		}
		pt, err := s.decrypt(ctx, d.Tenants.PCA, keyName(d.Name, "pca", "enc"), d.pca, &e.EncPlv)
		if err != nil {
			return ieee1609.Lv{}, err
		}
		if len(pt) != 9 {
			return ieee1609.Lv{}, refused("a pre-linkage value is 9 bytes")
		}
		copy(plvs[n][:], pt)
	}
	return ieee1609.Lv(linkage.Value(plvs[0], plvs[1])), nil
}

// randScalar draws c in [1, n-1].
func (s *Service) randScalar() (*big.Int, error) {
	n := s.profile.Curve.Params().N
	for {
		b := make([]byte, 32)
		if _, err := io.ReadFull(s.rand, b); err != nil {
			return nil, err
		}
		c := new(big.Int).SetBytes(b)
		if c.Sign() > 0 && c.Cmp(n) < 0 {
			return c, nil
		}
	}
}

// issuedPath is where the PCA keeps its record of a certificate, by the
// period it expires.
func (d *deployment) issuedPath(cert *ieee1609.Certificate, id ieee1609.HashedId8) string {
	return d.path(d.Tenants.PCA, "pca", "issued/"+bucket(d.expiryPeriod(cert.ToBeSigned.ValidityPeriod))+"/"+hex.EncodeToString(id[:]))
}

// roadsidePath is where the PCA keeps what revokes the roadside unit
// certificate a PCA request produced, by the period it expires.
func (d *deployment) roadsidePath(expires uint16, pcaReq string) string {
	return d.path(d.Tenants.PCA, "pca", "roadside/"+bucket(expires)+"/"+pcaReq)
}

// requestOf finds the PCA request that produced a certificate.
func (s *Service) requestOf(ctx context.Context, d *deployment, cert *ieee1609.Certificate) (string, error) {
	st, err := s.store.Backend()
	if err != nil {
		return "", err
	}
	id, err := certID(cert)
	if err != nil {
		return "", err
	}
	var rec issued
	found, err := getJSON(ctx, st, d.issuedPath(cert, id), &rec)
	if err == nil && !found {
		err = fault.New(fault.CertificateNotFound, "the PCA has no record of certificate %x: it was not issued here, or expired more than %d i-periods ago", id, d.RetainPeriods)
	}
	return rec.Request, err
}
