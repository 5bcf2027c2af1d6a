package sec

import (
	"crypto"
	"errors"
	"io"

	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
)

// Unsecured wraps bytes as unsecured data.
func Unsecured(b []byte) *ieee1609.Data {
	return &ieee1609.Data{ProtocolVersion: 3, Content: ieee1609.Content{UnsecuredData: b}}
}

// SignData signs payload with header as the holder of cert, with key
// (IEEE 1609.2-2022 5.3.1, 6.3.4). With digest the signer is identified
// by the certificate's HashedId8, otherwise the certificate is included.
func (p *Profile) SignData(rand io.Reader, key crypto.Signer, cert *ieee1609.Certificate, payload *ieee1609.Data, header ieee1609.HeaderInfo, digest bool) (*ieee1609.Data, error) {
	tbs := ieee1609.ToBeSignedData{Payload: ieee1609.SignedDataPayload{Data: payload}, HeaderInfo: header}
	enc, err := coer.Marshal(&tbs)
	if err != nil {
		return nil, err
	}
	sig, err := p.Sign(rand, key, enc, cert)
	if err != nil {
		return nil, err
	}
	sd := &ieee1609.SignedData{HashID: p.HashAlg, TbsData: tbs, Signature: sig}
	if digest {
		id, err := HashedID8(cert)
		if err != nil {
			return nil, err
		}
		sd.Signer.Digest = &id
	} else {
		sd.Signer.Certificate = []ieee1609.Certificate{*cert}
	}
	return &ieee1609.Data{ProtocolVersion: 3, Content: ieee1609.Content{SignedData: sd}}, nil
}

// VerifySignedData checks the signature of sd under cert, the signer's
// certificate (its own, or the one sd's digest names).
func (p *Profile) VerifySignedData(sd *ieee1609.SignedData, cert *ieee1609.Certificate) error {
	if cert.ToBeSigned.VerifyKeyIndicator.VerificationKey == nil {
		return errors.New("the signer certificate has no verification key")
	}
	pub, err := VerifyingKey(*cert.ToBeSigned.VerifyKeyIndicator.VerificationKey)
	if err != nil {
		return err
	}
	enc, err := coer.Marshal(&sd.TbsData)
	if err != nil {
		return err
	}
	return p.Verify(pub, enc, cert, sd.Signature)
}

// SignRequest makes the signedCertificateRequest Data of an SCMS request
// (IEEE 1609.2.1 6.3.2): signed as the holder of cert, or self-signed
// with the key the request certifies when cert is nil.
func (p *Profile) SignRequest(rand io.Reader, key crypto.Signer, cert *ieee1609.Certificate, req *ieee1609.ScmsPdu) (*ieee1609.Data, error) {
	enc, err := coer.Marshal(req)
	if err != nil {
		return nil, err
	}
	sig, err := p.Sign(rand, key, enc, cert)
	if err != nil {
		return nil, err
	}
	scr := ieee1609.SignedCertificateRequest{HashAlgorithmID: p.HashAlg, TbsRequest: *req, Signature: sig}
	if cert == nil {
		scr.Signer.Self = &coer.Null{}
	} else {
		scr.Signer.Certificate = []ieee1609.Certificate{*cert}
	}
	b, err := coer.Marshal(&scr)
	if err != nil {
		return nil, err
	}
	return &ieee1609.Data{ProtocolVersion: 3, Content: ieee1609.Content{SignedCertificateRequest: b}}, nil
}

// VerifyRequest checks a signed certificate request: self-signed requests
// under the key their tbsCert carries, others under the certificate in
// their signer field, which it returns (nil for self-signed).
func (p *Profile) VerifyRequest(scr *ieee1609.SignedCertificateRequest) (*ieee1609.Certificate, error) {
	enc, err := coer.Marshal(&scr.TbsRequest)
	if err != nil {
		return nil, err
	}
	if scr.Signer.Self != nil {
		tbs := requestTbs(&scr.TbsRequest)
		if tbs == nil || tbs.VerifyKeyIndicator.VerificationKey == nil {
			return nil, errors.New("a self-signed request needs the key it certifies")
		}
		pub, err := VerifyingKey(*tbs.VerifyKeyIndicator.VerificationKey)
		if err != nil {
			return nil, err
		}
		return nil, p.Verify(pub, enc, nil, scr.Signature)
	}
	if len(scr.Signer.Certificate) != 1 {
		return nil, errors.New("the request's signer must be one certificate")
	}
	cert := &scr.Signer.Certificate[0]
	if cert.ToBeSigned.VerifyKeyIndicator.VerificationKey == nil {
		return nil, errors.New("the signer certificate has no verification key")
	}
	pub, err := VerifyingKey(*cert.ToBeSigned.VerifyKeyIndicator.VerificationKey)
	if err != nil {
		return nil, err
	}
	return cert, p.Verify(pub, enc, cert, scr.Signature)
}

// requestTbs is the tbsCert of an EE–ECA or EE–RA request.
func requestTbs(pdu *ieee1609.ScmsPdu) *ieee1609.ToBeSignedCertificate {
	switch c := pdu.Content; {
	case c.EcaEe != nil && c.EcaEe.EeEcaCertRequest != nil:
		return &c.EcaEe.EeEcaCertRequest.TbsCert
	case c.EeRa != nil && c.EeRa.EeRaCertRequest != nil:
		return &c.EeRa.EeRaCertRequest.TbsCert
	case c.AcaRa != nil && c.AcaRa.RaAcaCertRequest != nil:
		return &c.AcaRa.RaAcaCertRequest.TbsCert
	}
	return nil
}
