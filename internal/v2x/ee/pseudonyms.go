package ee

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/mimacrypto/mima/internal/v2x/butterfly"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
	"github.com/mimacrypto/mima/internal/v2x/trust"
)

// RequestPseudonyms asks the RA for pseudonym certificates covering span
// from now, permitted to sign psids: it sends caterpillar keys A and H
// with fresh SM4 expansion keys (butterfly, original form), signed with
// the enrolment certificate and encrypted to the RA.
func (d *Device) RequestPseudonyms(ctx context.Context, t Transport, span time.Duration, psids []ieee1609.Psid) (Request, error) {
	return d.RequestPseudonymsFrom(ctx, t, d.now(), span, psids)
}

// RequestPseudonymsFrom is RequestPseudonyms for certificates from start,
// to stock up before a trip; the RA takes at most its deployment's
// max_periods ahead.
func (d *Device) RequestPseudonymsFrom(ctx context.Context, t Transport, start time.Time, span time.Duration, psids []ieee1609.Psid) (Request, error) {
	a, err := sm2.GenerateKey(d.rand)
	if err != nil {
		return Request{}, err
	}
	h, err := sm2.GenerateKey(d.rand)
	if err != nil {
		return Request{}, err
	}
	var ck, ek [16]byte
	for _, k := range []*[16]byte{&ck, &ek} {
		if _, err := io.ReadFull(d.rand, k[:]); err != nil {
			return Request{}, err
		}
	}
	bp := &ieee1609.ButterflyParamsOriginal{EncryptionKey: d.profile.EncryptionKey(&h.PublicKey)}
	bp.SigningExpansion.Sm4, bp.EncryptionExpansion.Sm4 = &ck, &ek
	hash, ack, err := d.request(ctx, t, &a.PublicKey, start, span, psids, ieee1609.AdditionalParams{Original: bp})
	if err != nil {
		return Request{}, err
	}
	r := Request{
		Hash: hex.EncodeToString(hash[:]), First: *ack.FirstI,
		SignKey: a.D.FillBytes(make([]byte, 32)), EncKey: h.D.FillBytes(make([]byte, 32)), SignExp: ck[:], EncExp: ek[:],
	}
	d.state.Requests = append(d.state.Requests, r)
	return r, nil
}

// RequestApplicationCert asks, as a roadside unit, for an application
// certificate for a fresh key, valid for span and permitted psids.
func (d *Device) RequestApplicationCert(ctx context.Context, t Transport, span time.Duration, psids []ieee1609.Psid) error {
	k, err := sm2.GenerateKey(d.rand)
	if err != nil {
		return err
	}
	e, err := sm2.GenerateKey(d.rand)
	if err != nil {
		return err
	}
	ekey := d.profile.EncryptionKey(&e.PublicKey)
	hash, _, err := d.request(ctx, t, &k.PublicKey, d.now(), span, psids, ieee1609.AdditionalParams{EncryptionKey: &ekey})
	if err != nil {
		return err
	}
	d.state.App = &AppCert{Request: hex.EncodeToString(hash[:]), Key: k.D.FillBytes(make([]byte, 32)), EncKey: e.D.FillBytes(make([]byte, 32))}
	return nil
}

// request sends an EeRaCertRequest and checks the RA's acknowledgement.
func (d *Device) request(ctx context.Context, t Transport, pub *ecdsa.PublicKey, start time.Time, span time.Duration, psids []ieee1609.Psid, ap ieee1609.AdditionalParams) (ieee1609.HashedId8, *ieee1609.RaEeCertAck, error) {
	enrolKey, enrol, err := d.enrolment()
	if err != nil {
		return ieee1609.HashedId8{}, nil, err
	}
	vk := d.profile.VerificationKey(pub)
	hours := uint16(min(span/time.Hour, 65535))
	var perms []ieee1609.PsidSsp
	for _, p := range psids {
		perms = append(perms, ieee1609.PsidSsp{Psid: p})
	}
	name := d.state.ID
	id := ieee1609.CertificateID{None: &coer.Null{}}
	if ap.EncryptionKey != nil {
		id = ieee1609.CertificateID{Name: &name}
	}
	req := &ieee1609.ScmsPdu{Version: 2, Content: ieee1609.ScmsContent{EeRa: &ieee1609.EeRaPdu{EeRaCertRequest: &ieee1609.EeRaCertRequest{
		Version: 2, GenerationTime: ieee1609.Time32Of(d.now()), Type: ieee1609.CertTypeExplicit,
		TbsCert: ieee1609.ToBeSignedCertificate{
			ID:                 id,
			ValidityPeriod:     ieee1609.ValidityPeriod{Start: ieee1609.Time32Of(start), Duration: ieee1609.Hours(hours)},
			AppPermissions:     perms,
			VerifyKeyIndicator: ieee1609.VerificationKeyIndicator{VerificationKey: &vk},
		},
		AdditionalParams: &ap,
	}}}}
	signed, err := d.profile.SignRequest(d.rand, enrolKey, enrol, req)
	if err != nil {
		return ieee1609.HashedId8{}, nil, err
	}
	spdu, err := d.encryptToRA(signed)
	if err != nil {
		return ieee1609.HashedId8{}, nil, err
	}
	answer, err := t.Request(ctx, spdu)
	if err != nil {
		return ieee1609.HashedId8{}, nil, err
	}
	p, _, err := d.verifyPdu(answer)
	if err != nil {
		return ieee1609.HashedId8{}, nil, fmt.Errorf("the RA's answer: %w", err)
	}
	hash := d.profile.DataHashedID8(spdu)
	if p.Content.EeRa == nil || p.Content.EeRa.RaEeCertAck == nil || p.Content.EeRa.RaEeCertAck.RequestHash != hash || p.Content.EeRa.RaEeCertAck.FirstI == nil {
		return ieee1609.HashedId8{}, nil, errors.New("the RA did not acknowledge this request")
	}
	return hash, p.Content.EeRa.RaEeCertAck, nil
}

// enrolment is the enrolment key and certificate.
func (d *Device) enrolment() (*sm2.PrivateKey, *ieee1609.Certificate, error) {
	if d.state.Enrolment == nil {
		return nil, nil, errors.New("the device is not enrolled")
	}
	var c ieee1609.Certificate
	if err := coer.Unmarshal(d.state.Enrolment, &c); err != nil {
		return nil, nil, err
	}
	k, err := privateKey(d.state.EnrolKey)
	return k, &c, err
}

// ra is the RA's certificate: the trust list's authority certificate with
// an encryption key and no issuing permissions.
func (d *Device) ra() (*ieee1609.Certificate, error) {
	p, err := unsecuredPdu(d.state.TrustList)
	if err != nil {
		return nil, errors.New("no trust list: update it first")
	}
	for i, c := range p.Content.Cert.CertificateChain.Others {
		if c.ToBeSigned.EncryptionKey != nil && c.ToBeSigned.CertIssuePermissions == nil {
			return &p.Content.Cert.CertificateChain.Others[i], nil
		}
	}
	return nil, errors.New("the trust list has no RA certificate")
}

// encryptToRA encrypts an SPDU to the RA's certificate.
func (d *Device) encryptToRA(inner *ieee1609.Data) ([]byte, error) {
	ra, err := d.ra()
	if err != nil {
		return nil, err
	}
	pub, err := sec.EncryptingKey(*ra.ToBeSigned.EncryptionKey)
	if err != nil {
		return nil, err
	}
	id, err := sec.HashedID8(ra)
	if err != nil {
		return nil, err
	}
	pt, err := coer.Marshal(inner)
	if err != nil {
		return nil, err
	}
	ed, err := d.profile.Encrypt(d.rand, pt, sec.Recipient{Key: pub, ID: id, Kind: sec.CertRecipient})
	if err != nil {
		return nil, err
	}
	return coer.Marshal(&ieee1609.Data{ProtocolVersion: 3, Content: ieee1609.Content{EncryptedData: ed}})
}

// Download fetches period i of a request (for a roadside unit's
// application certificate, its only file, i = 0), decrypts every
// certificate response, reconstructs the private keys and keeps the
// certificates. It returns how many certificates it added.
func (d *Device) Download(ctx context.Context, t Transport, request string, i uint16) (int, error) {
	enrolKey, enrol, err := d.enrolment()
	if err != nil {
		return 0, err
	}
	var hash ieee1609.HashedId8
	decodeHex(hash[:], request)
	dl := &ieee1609.ScmsPdu{Version: 2, Content: ieee1609.ScmsContent{EeRa: &ieee1609.EeRaPdu{EeRaDownloadRequest: &ieee1609.EeRaDownloadRequest{
		GenerationTime: ieee1609.Time32Of(d.now()), Filename: ieee1609.DownloadFilename(hash, i),
	}}}}
	b, err := coer.Marshal(dl)
	if err != nil {
		return 0, err
	}
	signed, err := d.profile.SignData(d.rand, enrolKey, enrol, sec.Unsecured(b), ieee1609.HeaderInfo{Psid: d.profile.SecurityMgmtPsid, GenerationTime: d.time64()}, false)
	if err != nil {
		return 0, err
	}
	spdu, err := d.encryptToRA(signed)
	if err != nil {
		return 0, err
	}
	file, err := t.Download(ctx, spdu)
	if err != nil {
		return 0, err
	}
	var responses []ieee1609.Data
	if err := coer.Unmarshal(file, &responses); err != nil {
		return 0, fmt.Errorf("download file: %w", err)
	}
	if d.state.App != nil && d.state.App.Request == request {
		return d.acceptApp(responses)
	}
	k := slices.IndexFunc(d.state.Requests, func(r Request) bool { return r.Hash == request })
	if k < 0 {
		return 0, fmt.Errorf("no request %s", request)
	}
	return d.acceptPseudonyms(&d.state.Requests[k], i, responses)
}

// openResponse verifies a private response's PCA signature and decrypts
// it with the key whose REK id is given.
func (d *Device) openResponse(resp *ieee1609.Data, keys map[ieee1609.HashedId8]*sm2.PrivateKey) (*ieee1609.AcaEeCertResponse, ieee1609.HashedId8, error) {
	if _, err := d.trust.VerifyData(resp, trust.Options{At: d.now(), Psid: d.profile.SecurityMgmtPsid}); err != nil {
		return nil, ieee1609.HashedId8{}, fmt.Errorf("the PCA's signature: %w", err)
	}
	inner := resp.Content.SignedData.TbsData.Payload.Data
	if inner == nil || inner.Content.EncryptedData == nil {
		return nil, ieee1609.HashedId8{}, errors.New("the response is not encrypted")
	}
	for _, r := range inner.Content.EncryptedData.Recipients {
		if r.RekRecipInfo == nil || keys[r.RekRecipInfo.RecipientID] == nil {
			continue
		}
		id := r.RekRecipInfo.RecipientID
		pt, err := d.profile.Decrypt(inner.Content.EncryptedData, id, keys[id])
		if err != nil {
			return nil, id, err
		}
		var p ieee1609.ScmsPdu
		if err := coer.Unmarshal(pt, &p); err != nil || p.Content.AcaEe == nil || p.Content.AcaEe.AcaEeCertResponse == nil {
			return nil, id, errors.New("not an ACA-EE certificate response")
		}
		return p.Content.AcaEe.AcaEeCertResponse, id, nil
	}
	return nil, ieee1609.HashedId8{}, errors.New("the response is for none of this device's keys")
}

// rekID is the recipient id of a response encryption key.
func (d *Device) rekID(pub *ecdsa.PublicKey) (ieee1609.HashedId8, error) {
	k := d.profile.EncryptionKey(pub)
	b, err := coer.Marshal(&k)
	return d.profile.DataHashedID8(b), err
}

// acceptPseudonyms opens a period's responses: response n is for some j,
// found by its recipient id among the cocoon encryption keys.
func (d *Device) acceptPseudonyms(r *Request, i uint16, responses []ieee1609.Data) (int, error) {
	bf := d.profile.Butterfly
	a, h := new(big.Int).SetBytes(r.SignKey), new(big.Int).SetBytes(r.EncKey)
	keys := map[ieee1609.HashedId8]*sm2.PrivateKey{}
	js := map[ieee1609.HashedId8]int{}
	for j := range len(responses) {
		q, err := bf.ExpandPrivate(h, r.EncExp, butterfly.Encryption, uint32(i), uint32(j))
		if err != nil {
			return 0, err
		}
		k, err := sm2.NewPrivateKeyFromInt(q)
		if err != nil {
			return 0, err
		}
		id, err := d.rekID(&k.PublicKey)
		if err != nil {
			return 0, err
		}
		keys[id], js[id] = k, j
	}
	added := 0
	for n := range responses {
		resp, id, err := d.openResponse(&responses[n], keys)
		if err != nil {
			return added, fmt.Errorf("response %d: %w", n, err)
		}
		j := js[id]
		if resp.PrivateKeyInfo == nil {
			return added, errors.New("a pseudonym response needs the private key reconstruction value")
		}
		b, err := bf.ExpandPrivate(a, r.SignExp, butterfly.Signing, uint32(i), uint32(j))
		if err != nil {
			return added, err
		}
		s, err := bf.CertPrivate(b, new(big.Int).SetBytes(resp.PrivateKeyInfo[:]))
		if err != nil {
			return added, err
		}
		key, err := sm2.NewPrivateKeyFromInt(s)
		if err != nil {
			return added, err
		}
		if err := d.ownKey(&resp.Certificate, &key.PublicKey); err != nil {
			return added, fmt.Errorf("pseudonym (%d, %d): the reconstructed key does not match: %w", i, j, err)
		}
		ld := resp.Certificate.ToBeSigned.ID.LinkageData
		if ld == nil || ld.ICert != i {
			return added, fmt.Errorf("pseudonym (%d, %d) is not for period %d", i, j, i)
		}
		if _, err := d.trust.VerifyCertificate(&resp.Certificate, resp.Certificate.ToBeSigned.ValidityPeriod.Start.Time()); err != nil {
			return added, fmt.Errorf("pseudonym (%d, %d): %w", i, j, err)
		}
		cert, err := coer.Marshal(&resp.Certificate)
		if err != nil {
			return added, err
		}
		d.state.Pseudonyms = append(d.state.Pseudonyms, Pseudonym{Period: i, J: j, Cert: cert, Key: key.D.FillBytes(make([]byte, 32))})
		added++
	}
	if !slices.Contains(r.Downloaded, i) {
		r.Downloaded = append(r.Downloaded, i)
	}
	return added, nil
}

// acceptApp opens a roadside unit's application certificate.
func (d *Device) acceptApp(responses []ieee1609.Data) (int, error) {
	app := d.state.App
	e, err := privateKey(app.EncKey)
	if err != nil {
		return 0, err
	}
	id, err := d.rekID(&e.PublicKey)
	if err != nil {
		return 0, err
	}
	if len(responses) != 1 {
		return 0, fmt.Errorf("%d responses for one application certificate", len(responses))
	}
	resp, _, err := d.openResponse(&responses[0], map[ieee1609.HashedId8]*sm2.PrivateKey{id: e})
	if err != nil {
		return 0, err
	}
	k, err := privateKey(app.Key)
	if err != nil {
		return 0, err
	}
	if err := d.ownKey(&resp.Certificate, &k.PublicKey); err != nil {
		return 0, err
	}
	if _, err := d.trust.VerifyCertificate(&resp.Certificate, d.now()); err != nil {
		return 0, err
	}
	if app.Cert, err = coer.Marshal(&resp.Certificate); err != nil {
		return 0, err
	}
	return 1, nil
}
