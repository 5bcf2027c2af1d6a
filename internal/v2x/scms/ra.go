package scms

//lint:file-ignore SA1019 v2x keeps points as *ecdsa.PublicKey on two curves (SM2, P-256) and butterfly keys add points, which gmsm v0.44.0 offers for SM2 only through elliptic.Curve; moving v2x to encoded points is open work (issue 23 item 6).

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/v2x/butterfly"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
	"github.com/mimacrypto/mima/internal/v2x/trust"
)

// The registration authority (IEEE 1609.2.1 6.3.5.2, 9.3). It checks a
// device's request against its enrolment certificate, expands the
// caterpillar keys into one cocoon key pair per (i, j), obtains the
// pre-linkage values from both LAs, queues one signed RaAcaCertRequest per
// certificate, and at each Flush shuffles the queue across devices and
// sends it to the PCA in batches, keeping the encrypted responses for
// download.

// raRequest is the RA's record of a device request.
type raRequest struct {
	Enrolment string    `json:"enrolment"` // HashedId8 (hex) of the enrolment certificate
	First     uint16    `json:"first"`
	Periods   int       `json:"periods"`
	Expires   uint16    `json:"expires"` // the period its last certificate expires
	Roadside  bool      `json:"roadside,omitempty"`
	Pending   []int     `json:"pending"` // per period, cocoon requests not yet answered
	Created   time.Time `json:"created"`
	// ELCI is an encrypted linkage chain identifier of each LA's chain,
	// with which the MA revokes the request's certificates.
	ELCI [2]string `json:"elci,omitempty"`
	// PCARequest is, for a roadside unit, the hash of its one PCA
	// request, under which the PCA keeps what revokes the certificate.
	PCARequest string `json:"pca_request,omitempty"`
}

// queued is a cocoon request waiting for the PCA.
type queued struct {
	Request string `json:"request"` // the device request's hash (hex)
	Period  uint16 `json:"period"`
	SPDU    []byte `json:"spdu"` // RaAcaCertRequestSpdu
}

// Ack is what Request tells a device.
type Ack struct {
	SPDU        []byte // RaEeCertAckSpdu
	RequestHash ieee1609.HashedId8
	First       uint16
	Periods     int
}

// Request answers an EeRaCertRequestSpdu: the request, signed with the
// device's enrolment certificate and encrypted to the RA. Pseudonym
// requests carry butterfly parameters (caterpillar keys and SM4
// expansion keys); a roadside unit's application certificate request
// carries its encryption key instead.
func (s *Service) Request(ctx context.Context, dep string, spdu []byte) (Ack, error) {
	d, err := s.load(ctx, dep)
	if err != nil {
		return Ack{}, err
	}
	data, err := decodeData(spdu)
	if err != nil {
		return Ack{}, err
	}
	pt, err := s.decrypt(ctx, d.Tenants.RA, keyName(d.Name, "ra", "enc"), d.ra, data)
	if err != nil {
		return Ack{}, err
	}
	inner, err := decodeData(pt)
	if err != nil {
		return Ack{}, err
	}
	var scr ieee1609.SignedCertificateRequest
	if inner.Content.SignedCertificateRequest == nil || coer.Unmarshal(inner.Content.SignedCertificateRequest, &scr) != nil {
		return Ack{}, refused("the RA takes signed certificate requests")
	}
	ee := scr.TbsRequest.Content.EeRa
	if scr.TbsRequest.Version != 2 || ee == nil || ee.EeRaCertRequest == nil {
		return Ack{}, refused("not an EE-RA certificate request")
	}
	r := ee.EeRaCertRequest
	enrol, err := s.checkEnrolment(ctx, d, &scr)
	if err != nil {
		return Ack{}, err
	}
	now := s.now()
	if gt := r.GenerationTime.Time(); gt.Sub(now) > maxClockSkew || now.Sub(gt) > maxClockSkew {
		return Ack{}, refused("generated at %s, more than %s from now", gt.Format(time.RFC3339), maxClockSkew)
	}
	if r.Version != 2 || r.Type != ieee1609.CertTypeExplicit || r.AdditionalParams == nil || r.TbsCert.VerifyKeyIndicator.VerificationKey == nil || len(r.TbsCert.AppPermissions) == 0 {
		return Ack{}, refused("a certificate request is version 2, explicit, with a key, permissions and butterfly or encryption parameters")
	}
	for _, p := range r.TbsCert.AppPermissions {
		if !requestable(enrol, p.Psid) {
			return Ack{}, refused("the enrolment certificate does not permit requesting PSID %d", p.Psid)
		}
	}
	reqHash := s.profile.DataHashedID8(spdu)
	reqHex := hex.EncodeToString(reqHash[:])
	recPath := d.path(d.Tenants.RA, "ra", "requests/"+reqHex)
	st, err := s.store.Backend()
	if err != nil {
		return Ack{}, err
	}
	// A request seen before (a device retrying after a lost answer, or a
	// replay) gets the same acknowledgement and nothing more: never a
	// second batch of certificates, nor a reset of the first.
	var seen raRequest
	if found, err := getJSON(ctx, st, recPath, &seen); err != nil {
		return Ack{}, err
	} else if found {
		return s.ack(ctx, d, reqHash, seen)
	}
	enrolID, _ := sec.HashedID8(enrol)
	rec := raRequest{
		Enrolment: hex.EncodeToString(enrolID[:]), Created: s.clock(),
	}
	var ops []storage.Op
	switch ap := r.AdditionalParams; {
	case ap.Original != nil:
		rec.First, rec.Periods = d.periods(r.TbsCert.ValidityPeriod, now)
		if cur := d.period(now); int(rec.First) > int(cur)+d.MaxPeriods {
			return Ack{}, refused("the request starts in i-period %d; at most %d periods ahead of %d may be asked for", rec.First, d.MaxPeriods, cur)
		}
		rec.Expires = rec.First + uint16(rec.Periods) - 1
		ops, rec.ELCI, err = s.expand(ctx, d, r, ap.Original, reqHex, rec.First, rec.Periods)
		rec.Pending = make([]int, rec.Periods)
		for k := range rec.Pending {
			rec.Pending[k] = d.CertsPerPeriod
		}
	case ap.EncryptionKey != nil:
		rec.Roadside, rec.First, rec.Periods, rec.Pending = true, 0, 1, []int{1}
		rec.Expires = d.expiryPeriod(r.TbsCert.ValidityPeriod)
		ops, rec.PCARequest, err = s.roadside(ctx, d, r, reqHex)
	default:
		return Ack{}, refused("unsupported additional parameters")
	}
	if err != nil {
		return Ack{}, err
	}
	op, err := putOp(recPath, rec)
	if err != nil {
		return Ack{}, err
	}
	ops = append(ops, op, storage.Op{Key: d.byEnrolment(rec.Enrolment, reqHex), Value: []byte{}},
		storage.Op{Key: d.byExpiry(rec.Expires, reqHex), Value: []byte{}})
	// One transaction, without a lock: the same request may have arrived
	// meanwhile, at this node or another, or the MA may have revoked the
	// device. The request is stored on condition that it is still new,
	// that its enrolment certificate is not blocked, and that the
	// enrolment's request count is the one read, which it advances: a
	// revocation reads that count before it lists the enrolment's requests
	// (revokeRequests), so either it sees this request or this request
	// sees the block.
	dup := false
	err = storage.Atomic(ctx, st, func(tx storage.Backend) error {
		var err error
		if dup, err = getJSON(ctx, tx, recPath, &seen); err != nil || dup {
			return err
		}
		if err := s.checkBlocked(ctx, d, tx, rec.Enrolment); err != nil {
			return err
		}
		count, err := d.requestCount(ctx, tx, rec.Enrolment)
		if err != nil {
			return err
		}
		return batch(ctx, tx, append(ops, storage.Op{Key: d.requestCountPath(rec.Enrolment), Value: []byte(strconv.Itoa(count + 1))}))
	})
	if err != nil {
		return Ack{}, fault.Storage(err)
	}
	if dup {
		return s.ack(ctx, d, reqHash, seen)
	}
	return s.ack(ctx, d, reqHash, rec)
}

// ack is the RA's signed acknowledgement of a request.
func (s *Service) ack(ctx context.Context, d *deployment, reqHash ieee1609.HashedId8, rec raRequest) (Ack, error) {
	now, first := s.now(), rec.First
	ack := pdu(ieee1609.ScmsContent{EeRa: &ieee1609.EeRaPdu{RaEeCertAck: &ieee1609.RaEeCertAck{
		Version: 2, GenerationTime: ieee1609.Time32Of(now), RequestHash: reqHash, FirstI: &first,
		NextDlTime: ieee1609.Time32Of(now.Add(time.Minute)),
	}}})
	signed, err := s.signPdu(ctx, d.Tenants.RA, keyName(d.Name, "ra", "sign"), d.ra, ack)
	if err != nil {
		return Ack{}, err
	}
	b, err := encode(signed)
	return Ack{SPDU: b, RequestHash: reqHash, First: rec.First, Periods: rec.Periods}, err
}

// checkEnrolment verifies a request's signature, its enrolment
// certificate's chain and that the device is not blocked.
func (s *Service) checkEnrolment(ctx context.Context, d *deployment, scr *ieee1609.SignedCertificateRequest) (*ieee1609.Certificate, error) {
	enrol, err := s.profile.VerifyRequest(scr)
	if err != nil {
		return nil, refused("the request's signature: %v", err)
	}
	if enrol == nil {
		return nil, refused("the request must be signed with an enrolment certificate")
	}
	if _, err := d.trust.VerifyCertificate(enrol, s.now()); err != nil {
		return nil, refused("enrolment certificate: %v", err)
	}
	eca, err := certID(d.eca)
	if err != nil {
		return nil, err
	}
	if issuer, _ := sec.IssuerDigest(enrol); issuer != eca {
		return nil, refused("the enrolment certificate is not from this deployment's ECA")
	}
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	id, _ := sec.HashedID8(enrol)
	if err := s.checkBlocked(ctx, d, st, hex.EncodeToString(id[:])); err != nil {
		return nil, err
	}
	return enrol, nil
}

// checkBlocked refuses an enrolment certificate the MA blocked.
func (s *Service) checkBlocked(ctx context.Context, d *deployment, st storage.Backend, enrolment string) error {
	_, err := st.Get(ctx, d.path(d.Tenants.RA, "ra", "blocked/"+enrolment))
	switch {
	case err == nil:
		return fault.New(fault.DeviceBlocked, "the enrolment certificate was revoked for misbehaviour")
	case errors.Is(err, storage.ErrNotFound):
		return nil
	default:
		return fault.Storage(err)
	}
}

// requestCountPath is where the RA counts the requests made with an
// enrolment certificate: the record that a request and a revocation of
// its device both condition on.
func (d *deployment) requestCountPath(enrolment string) string {
	return d.path(d.Tenants.RA, "ra", "request-counts/"+enrolment)
}

// requestCount reads the count of requests made with an enrolment
// certificate from st (a transaction, of which it becomes a condition).
func (d *deployment) requestCount(ctx context.Context, st storage.Backend, enrolment string) (int, error) {
	b, err := st.Get(ctx, d.requestCountPath(enrolment))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, fault.Storage(err)
	}
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return 0, fault.Unexpected(fmt.Errorf("the request count of enrolment certificate %s is corrupt", enrolment))
	}
	return n, nil
}

// byEnrolment is the path of the RA's index entry of a request by its
// enrolment certificate.
func (d *deployment) byEnrolment(enrolment, reqHex string) string {
	return d.path(d.Tenants.RA, "ra", "enrolments/"+enrolment+"/"+reqHex)
}

// byExpiry is the path of the RA's index entry of a request by the
// period its last certificate expires.
func (d *deployment) byExpiry(expires uint16, reqHex string) string {
	return d.path(d.Tenants.RA, "ra", "expiry/"+bucket(expires)+"/"+reqHex)
}

// pcaReqPath is where the RA keeps what links a PCA request to its
// device request, by the period its certificate expires.
func (d *deployment) pcaReqPath(expires uint16, pcaReq string) string {
	return d.path(d.Tenants.RA, "ra", "pcareq/"+bucket(expires)+"/"+pcaReq)
}

// filePath is where the RA keeps the certificate responses of period i of
// a request: by the period they expire, i for pseudonyms.
func (d *deployment) filePath(rec *raRequest, reqHex string, i uint16) string {
	expires := i
	if rec.Roadside {
		expires = rec.Expires
	}
	return d.path(d.Tenants.RA, "ra", "files/"+bucket(expires)+"/"+reqHex+"/"+strconv.Itoa(int(i)))
}

// certID is the HashedId8 of a certificate that was decoded or built. A
// certificate that does not encode again is a fault of ours: internal.
func certID(c *ieee1609.Certificate) (ieee1609.HashedId8, error) {
	id, err := sec.HashedID8(c)
	if err != nil {
		return id, fault.Unexpected(fmt.Errorf("hashing a certificate: %w", err))
	}
	return id, nil
}

// certID10 is certID for the HashedId10 of hash-based CRLs.
func certID10(c *ieee1609.Certificate) (ieee1609.HashedId10, error) {
	id, err := sec.HashedID10(c)
	if err != nil {
		return id, fault.Unexpected(fmt.Errorf("hashing a certificate: %w", err))
	}
	return id, nil
}

// requestable reports whether an enrolment certificate permits
// requesting psid.
func requestable(enrol *ieee1609.Certificate, psid ieee1609.Psid) bool {
	for _, g := range enrol.ToBeSigned.CertRequestPermissions {
		for _, r := range g.SubjectPermissions.Explicit {
			if r.Psid == psid {
				return true
			}
		}
	}
	return false
}

// periods is the first i-period and the count a validity period asks
// for: from its start (not before now), as many periods as it spans, at
// most MaxPeriods.
func (d *deployment) periods(v ieee1609.ValidityPeriod, now time.Time) (uint16, int) {
	first := max(d.period(v.Start.Time()), d.period(now))
	n := int((v.Duration.Length() + d.Period - 1) / d.Period)
	return first, min(max(n, 1), d.MaxPeriods)
}

// expand makes the cocoon requests of a pseudonym request, and returns
// an eLCI of each linkage chain.
func (s *Service) expand(ctx context.Context, d *deployment, r *ieee1609.EeRaCertRequest, bp *ieee1609.ButterflyParamsOriginal, reqHex string, first uint16, n int) ([]storage.Op, [2]string, error) {
	sigKey, encKey := expansionKey(s.profile, bp.SigningExpansion), expansionKey(s.profile, bp.EncryptionExpansion)
	if sigKey == nil || encKey == nil {
		return nil, [2]string{}, refused("the expansion keys must be %s", map[bool]string{true: "SM4", false: "AES-128"}[s.profile.SM()])
	}
	a, err := sec.VerifyingKey(*r.TbsCert.VerifyKeyIndicator.VerificationKey)
	if err != nil {
		return nil, [2]string{}, refused("caterpillar key: %v", err)
	}
	h, err := sec.EncryptingKey(bp.EncryptionKey)
	if err != nil {
		return nil, [2]string{}, refused("caterpillar encryption key: %v", err)
	}
	plvReq := PLVRequest{Now: d.period(s.now()), First: first, Periods: n, JMax: d.CertsPerPeriod}
	la1, err := d.preLinkage(ctx, 1, plvReq)
	if err != nil {
		return nil, [2]string{}, err
	}
	la2, err := d.preLinkage(ctx, 2, plvReq)
	if err != nil {
		return nil, [2]string{}, err
	}
	key, err := s.keys.Signer(ctx, d.Tenants.RA, keyName(d.Name, "ra", "sign"))
	if err != nil {
		return nil, [2]string{}, err
	}
	bf := s.profile.Butterfly
	var ops []storage.Op
	for k := range n {
		i := first + uint16(k)
		for j := range d.CertsPerPeriod {
			b, err := bf.ExpandPublic(butterfly.Point{X: a.X, Y: a.Y}, sigKey, butterfly.Signing, uint32(i), uint32(j))
			if err != nil {
				return nil, [2]string{}, refused("expanding the signing key: %v", err)
			}
			q, err := bf.ExpandPublic(butterfly.Point{X: h.X, Y: h.Y}, encKey, butterfly.Encryption, uint32(i), uint32(j))
			if err != nil {
				return nil, [2]string{}, refused("expanding the encryption key: %v", err)
			}
			vk := s.profile.VerificationKey(point(a, b))
			ek := s.profile.EncryptionKey(point(h, q))
			req := &ieee1609.RaAcaCertRequest{
				Version: 2, GenerationTime: ieee1609.Time32Of(s.now()), Type: ieee1609.CertTypeExplicit,
				Flags:       [1]byte{ieee1609.FlagButterflyExplicit},
				LinkageInfo: &ieee1609.LinkageInfo{EncPlv1: la1.PLV[k][j], EncPlv2: la2.PLV[k][j]},
				CertEncKey:  &ek,
				TbsCert: ieee1609.ToBeSignedCertificate{
					ID: ieee1609.CertificateID{None: &coer.Null{}}, ValidityPeriod: d.periodValidity(i),
					AppPermissions:     r.TbsCert.AppPermissions,
					VerifyKeyIndicator: ieee1609.VerificationKeyIndicator{VerificationKey: &vk},
				},
			}
			more, _, err := s.queue(ctx, d, key, req, reqHex, i)
			if err != nil {
				return nil, [2]string{}, err
			}
			ops = append(ops, more...)
		}
	}
	return ops, [2]string{la1.ELCI, la2.ELCI}, nil
}

// roadside makes the one request of a roadside unit's application
// certificate: its own keys, no linkage.
func (s *Service) roadside(ctx context.Context, d *deployment, r *ieee1609.EeRaCertRequest, reqHex string) ([]storage.Op, string, error) {
	key, err := s.keys.Signer(ctx, d.Tenants.RA, keyName(d.Name, "ra", "sign"))
	if err != nil {
		return nil, "", err
	}
	if _, err := sec.EncryptingKey(*r.AdditionalParams.EncryptionKey); err != nil {
		return nil, "", refused("encryption key: %v", err)
	}
	tbs := r.TbsCert
	tbs.CracaID, tbs.CrlSeries = ieee1609.HashedId3{}, 0
	if end := s.now().Add(366 * 24 * time.Hour); tbs.ValidityPeriod.End().After(end) {
		return nil, "", refused("a roadside unit certificate is valid for at most a year")
	}
	req := &ieee1609.RaAcaCertRequest{
		Version: 2, GenerationTime: ieee1609.Time32Of(s.now()), Type: ieee1609.CertTypeExplicit,
		CertEncKey: r.AdditionalParams.EncryptionKey, TbsCert: tbs,
	}
	return s.queue(ctx, d, key, req, reqHex, 0)
}

// queue signs a cocoon request and returns the ops that queue it and
// index it for the MA, and its hash.
func (s *Service) queue(ctx context.Context, d *deployment, key crypto.Signer, req *ieee1609.RaAcaCertRequest, reqHex string, i uint16) ([]storage.Op, string, error) {
	signed, err := s.profile.SignRequest(s.rand, key, d.ra, pdu(ieee1609.ScmsContent{AcaRa: &ieee1609.AcaRaPdu{RaAcaCertRequest: req}}))
	if err != nil {
		return nil, "", fault.Unexpected(err)
	}
	b, err := encode(signed)
	if err != nil {
		return nil, "", err
	}
	h := s.profile.DataHashedID8(b)
	hHex := hex.EncodeToString(h[:])
	slot, err := s.randomSlot()
	if err != nil {
		return nil, "", fault.Unexpected(err)
	}
	q, err := putOp(d.path(d.Tenants.RA, "ra", "queue/"+hex.EncodeToString(slot)), queued{Request: reqHex, Period: i, SPDU: b})
	if err != nil {
		return nil, "", err
	}
	l := storage.Op{Key: d.pcaReqPath(d.expiryPeriod(req.TbsCert.ValidityPeriod), hHex), Value: []byte(reqHex)}
	return []storage.Op{q, l}, hHex, nil
}

// point is p as a key on a's curve.
func point(a *ecdsa.PublicKey, p butterfly.Point) *ecdsa.PublicKey {
	return &ecdsa.PublicKey{Curve: a.Curve, X: p.X, Y: p.Y}
}

// expansionKey is the profile's expansion key, or nil.
func expansionKey(p *sec.Profile, e ieee1609.ButterflyExpansion) []byte {
	if p.SM() && e.Sm4 != nil {
		return e.Sm4[:]
	}
	if !p.SM() && e.Aes128 != nil {
		return e.Aes128[:]
	}
	return nil
}

// pcaBatch is how many requests go to the PCA at once.
const pcaBatch = 256

// Flush sends every queued cocoon request to the PCA, shuffled across
// devices, and files the responses for download. It returns how many
// certificates were issued.
func (s *Service) Flush(ctx context.Context, dep string) (int, error) {
	d, st, err := s.open(ctx, dep)
	if err != nil {
		return 0, err
	}
	prefix := d.path(d.Tenants.RA, "ra", "queue/")
	keys, err := st.List(ctx, prefix, "", 0)
	if err != nil {
		return 0, fault.Storage(err)
	}
	if err := s.shuffle(keys); err != nil {
		return 0, fault.Unexpected(err)
	}
	issued := 0
	for len(keys) > 0 {
		n := min(len(keys), pcaBatch)
		if err := s.flushBatch(ctx, d, st, keys[:n]); err != nil {
			return issued, err
		}
		issued += n
		keys = keys[n:]
	}
	return issued, nil
}

// shuffle permutes keys uniformly (Fisher-Yates with s.rand), so that the
// PCA sees the requests of all devices mixed.
func (s *Service) shuffle(keys []string) error {
	var b [8]byte
	for i := len(keys) - 1; i > 0; i-- {
		if _, err := io.ReadFull(s.rand, b[:]); err != nil {
			return err
		}
		j := int(binary.BigEndian.Uint64(b[:]) % uint64(i+1))
		keys[i], keys[j] = keys[j], keys[i]
	}
	return nil
}

// flushBatch sends one batch to the PCA and files the answers. The
// answers are filed in one transaction, without a lock across the PCA's
// signatures, on condition that their queue entries are still there: an
// entry another flusher filed meanwhile is skipped, its answer dropped,
// so that no request gets a certificate twice.
func (s *Service) flushBatch(ctx context.Context, d *deployment, st storage.Backend, keys []string) error {
	entries := make([]queued, len(keys))
	spdus := make([][]byte, len(keys))
	for n, k := range keys {
		if _, err := getJSON(ctx, st, k, &entries[n]); err != nil {
			return err
		}
		spdus[n] = entries[n].SPDU
	}
	responses, err := s.certify(ctx, d, spdus)
	if err != nil {
		return err
	}
	private := make([]*ieee1609.Data, len(responses))
	for n, raw := range responses {
		if private[n], err = s.checkPCAResponse(d, raw); err != nil {
			return err
		}
	}
	err = storage.Atomic(ctx, st, func(tx storage.Backend) error {
		ops, err := s.fileResponses(ctx, d, tx, keys, entries, private)
		if err != nil {
			return err
		}
		return batch(ctx, tx, ops)
	})
	if err != nil {
		return fault.Storage(err)
	}
	return nil
}

// fileResponses returns the ops that file the private responses of the
// queue entries at keys that tx still holds, and delete those entries.
func (s *Service) fileResponses(ctx context.Context, d *deployment, tx storage.Backend, keys []string, entries []queued, private []*ieee1609.Data) ([]storage.Op, error) {
	files := map[string][]ieee1609.Data{}
	requests := map[string]*raRequest{}
	var ops []storage.Op
	for n, e := range entries {
		if _, err := tx.Get(ctx, keys[n]); errors.Is(err, storage.ErrNotFound) {
			continue // filed by another flusher
		} else if err != nil {
			return nil, fault.Storage(err)
		}
		rec := requests[e.Request]
		if rec == nil {
			rec = new(raRequest)
			if _, err := getJSON(ctx, tx, d.path(d.Tenants.RA, "ra", "requests/"+e.Request), rec); err != nil {
				return nil, err
			}
			requests[e.Request] = rec
		}
		file := d.filePath(rec, e.Request, e.Period)
		if _, ok := files[file]; !ok {
			var old []ieee1609.Data
			if b, err := tx.Get(ctx, file); err == nil {
				if err := coer.Unmarshal(b, &old); err != nil {
					return nil, fault.Unexpected(err)
				}
			}
			files[file] = old
		}
		files[file] = append(files[file], *private[n])
		if k := int(e.Period - rec.First); k >= 0 && k < len(rec.Pending) {
			rec.Pending[k]--
		}
		ops = append(ops, storage.Op{Key: keys[n], Delete: true})
	}
	for file, list := range files {
		b, err := encode(&list)
		if err != nil {
			return nil, err
		}
		ops = append(ops, storage.Op{Key: file, Value: b})
	}
	for h, rec := range requests {
		op, err := putOp(d.path(d.Tenants.RA, "ra", "requests/"+h), rec)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// checkPCAResponse verifies an AcaRaCertResponseSpdu and returns the
// private response for the device.
func (s *Service) checkPCAResponse(d *deployment, raw []byte) (*ieee1609.Data, error) {
	data, err := decodeData(raw)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	v, err := d.trust.VerifyData(data, trust.Options{At: s.now(), Psid: s.profile.SecurityMgmtPsid})
	if err != nil {
		return nil, fault.Unexpected(fmt.Errorf("the PCA's response: %w", err))
	}
	signer, err := certID(v.Signer)
	if err != nil {
		return nil, err
	}
	pca, err := certID(d.pca)
	if err != nil {
		return nil, err
	}
	if signer != pca {
		return nil, fault.Unexpected(fmt.Errorf("the response is not the PCA's"))
	}
	var p ieee1609.ScmsPdu
	if err := coer.Unmarshal(v.Payload, &p); err != nil || p.Content.AcaRa == nil || p.Content.AcaRa.AcaRaCertResponse == nil || p.Content.AcaRa.AcaRaCertResponse.AcaResponse.Private == nil {
		return nil, fault.Unexpected(fmt.Errorf("the PCA's response is not an ACA-RA certificate response: %v", err))
	}
	return p.Content.AcaRa.AcaRaCertResponse.AcaResponse.Private, nil
}

// Download answers an EeRaDownloadRequestSpdu (signed with the device's
// enrolment certificate, encrypted to the RA) with the file it names: the
// COER SEQUENCE OF the period's AcaEeCertResponsePrivateSpdus.
func (s *Service) Download(ctx context.Context, dep string, spdu []byte) ([]byte, error) {
	d, err := s.load(ctx, dep)
	if err != nil {
		return nil, err
	}
	data, err := decodeData(spdu)
	if err != nil {
		return nil, err
	}
	pt, err := s.decrypt(ctx, d.Tenants.RA, keyName(d.Name, "ra", "enc"), d.ra, data)
	if err != nil {
		return nil, err
	}
	inner, err := decodeData(pt)
	if err != nil {
		return nil, err
	}
	v, err := d.trust.VerifyData(inner, trust.Options{At: s.now(), Psid: s.profile.SecurityMgmtPsid, MaxAge: maxClockSkew})
	if err != nil {
		return nil, refused("download request: %v", err)
	}
	var p ieee1609.ScmsPdu
	if err := coer.Unmarshal(v.Payload, &p); err != nil || p.Content.EeRa == nil || p.Content.EeRa.EeRaDownloadRequest == nil {
		return nil, refused("not an EE-RA download request")
	}
	reqHex, period, ok := strings.Cut(p.Content.EeRa.EeRaDownloadRequest.Filename, "_")
	i, err := strconv.ParseUint(period, 10, 16)
	if !ok || err != nil || len(reqHex) != 16 {
		return nil, refused("file names are <request hash>_<i-period>")
	}
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	var rec raRequest
	found, err := getJSON(ctx, st, d.path(d.Tenants.RA, "ra", "requests/"+reqHex), &rec)
	if err != nil {
		return nil, err
	}
	signerID, err := certID(v.Signer)
	if err != nil {
		return nil, err
	}
	if !found || rec.Enrolment != hex.EncodeToString(signerID[:]) {
		return nil, fault.New(fault.NotFound, "no such request for this device")
	}
	if _, err := st.Get(ctx, d.path(d.Tenants.RA, "ra", "blocked/"+rec.Enrolment)); err == nil {
		return nil, fault.New(fault.DeviceBlocked, "the enrolment certificate was revoked for misbehaviour")
	}
	k := int(i) - int(rec.First)
	if k < 0 || k >= len(rec.Pending) {
		return nil, fault.New(fault.NotFound, "the request covers periods %d to %d", rec.First, int(rec.First)+rec.Periods-1)
	}
	if rec.Pending[k] > 0 {
		return nil, fault.New(fault.DownloadNotReady, "%d certificates of period %d are not issued yet", rec.Pending[k], i)
	}
	b, err := st.Get(ctx, d.filePath(&rec, reqHex, uint16(i)))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fault.New(fault.NotFound, "the certificates of period %d have expired", i)
	}
	if err != nil {
		return nil, fault.Storage(err)
	}
	return b, nil
}

// deviceRequest returns the RA's record of the device request behind a
// PCA request, for a certificate that expires in period expires.
func (s *Service) deviceRequest(ctx context.Context, d *deployment, pcaReq string, expires uint16) (raRequest, error) {
	st, err := s.store.Backend()
	if err != nil {
		return raRequest{}, err
	}
	var rec raRequest
	reqHex, err := st.Get(ctx, d.pcaReqPath(expires, pcaReq))
	if errors.Is(err, storage.ErrNotFound) {
		return rec, fault.New(fault.NotFound, "the RA has no record of this certificate's request")
	}
	if err != nil {
		return rec, fault.Storage(err)
	}
	found, err := getJSON(ctx, st, d.path(d.Tenants.RA, "ra", "requests/"+string(reqHex)), &rec)
	if err == nil && !found {
		err = fault.New(fault.NotFound, "the RA has no record of this certificate's request")
	}
	return rec, err
}
