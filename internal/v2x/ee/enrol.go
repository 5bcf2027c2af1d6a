package ee

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"

	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
	"github.com/mimacrypto/mima/internal/v2x/trust"
)

// Enrol asks the ECA for an enrolment certificate for the device's
// enrolment key, permitted to request certificates for psids (IEEE
// 1609.2.1 EeEcaCertRequestSpdu, self-signed), and checks the answer: the
// ECA's signature, the request hash, and a certificate for this key that
// chains to the trust list.
func (d *Device) Enrol(ctx context.Context, t Transport, psids []ieee1609.Psid) error {
	if d.trust.Lookup(mustPin(d.state)) == nil {
		return errors.New("no trust list: update it first")
	}
	key, err := privateKey(d.state.EnrolKey)
	if err != nil {
		return err
	}
	vk := d.profile.VerificationKey(&key.PublicKey)
	id := d.state.ID
	years := uint16(6)
	perms := []ieee1609.PsidSspRange{{Psid: d.profile.SecurityMgmtPsid}}
	for _, p := range psids {
		perms = append(perms, ieee1609.PsidSspRange{Psid: p})
	}
	req := &ieee1609.ScmsPdu{Version: 2, Content: ieee1609.ScmsContent{EcaEe: &ieee1609.EcaEePdu{EeEcaCertRequest: &ieee1609.EeEcaCertRequest{
		Version: 2, GenerationTime: ieee1609.Time32Of(d.now()), Type: ieee1609.CertTypeExplicit,
		TbsCert: ieee1609.ToBeSignedCertificate{
			ID:                     ieee1609.CertificateID{Name: &id},
			ValidityPeriod:         ieee1609.ValidityPeriod{Start: ieee1609.Time32Of(d.now()), Duration: ieee1609.Duration{Years: &years}},
			CertRequestPermissions: []ieee1609.PsidGroupPermissions{{SubjectPermissions: ieee1609.SubjectPermissions{Explicit: perms}}},
			VerifyKeyIndicator:     ieee1609.VerificationKeyIndicator{VerificationKey: &vk},
		},
		CanonicalID: &id,
	}}}}
	signed, err := d.profile.SignRequest(d.rand, key, nil, req)
	if err != nil {
		return err
	}
	spdu, err := coer.Marshal(signed)
	if err != nil {
		return err
	}
	answer, err := t.Enrol(ctx, spdu)
	if err != nil {
		return err
	}
	p, _, err := d.verifyPdu(answer)
	if err != nil {
		return fmt.Errorf("the ECA's answer: %w", err)
	}
	r := p.Content.EcaEe
	if r == nil || r.EcaEeCertResponse == nil {
		return errors.New("the ECA's answer is not an ECA-EE certificate response")
	}
	if r.EcaEeCertResponse.RequestHash != d.profile.DataHashedID8(spdu) {
		return errors.New("the ECA answered another request")
	}
	cert := &r.EcaEeCertResponse.Certificate
	if err := d.ownKey(cert, &key.PublicKey); err != nil {
		return err
	}
	if _, err := d.trust.VerifyCertificate(cert, d.now()); err != nil {
		return fmt.Errorf("the enrolment certificate: %w", err)
	}
	if d.state.Enrolment, err = coer.Marshal(cert); err != nil {
		return err
	}
	return nil
}

// verifyPdu verifies an authority's signed SPDU and decodes its ScmsPdu.
func (d *Device) verifyPdu(b []byte) (*ieee1609.ScmsPdu, *trust.Verified, error) {
	data, err := trust.DecodeData(b)
	if err != nil {
		return nil, nil, err
	}
	v, err := d.trust.VerifyData(data, trust.Options{At: d.now(), Psid: d.profile.SecurityMgmtPsid})
	if err != nil {
		return nil, nil, err
	}
	var p ieee1609.ScmsPdu
	if err := coer.Unmarshal(v.Payload, &p); err != nil {
		return nil, nil, err
	}
	return &p, v, nil
}

// ownKey checks that cert certifies pub.
func (d *Device) ownKey(cert *ieee1609.Certificate, pub *ecdsa.PublicKey) error {
	vk := cert.ToBeSigned.VerifyKeyIndicator.VerificationKey
	if vk == nil {
		return errors.New("the certificate has no verification key")
	}
	got, err := sec.VerifyingKey(*vk)
	if err != nil {
		return err
	}
	if !pub.Equal(got) {
		return errors.New("the certificate is not for this device's key")
	}
	return nil
}

// mustPin is the pinned root's HashedId8.
func mustPin(s *State) ieee1609.HashedId8 {
	var id ieee1609.HashedId8
	decodeHex(id[:], s.RootPin)
	return id
}
