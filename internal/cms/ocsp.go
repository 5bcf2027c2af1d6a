package cms

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/pki"
)

// The ASN.1 of an OCSPResponse (RFC 6960 section 4.2.1), to read the
// answers of the tenant's CAs.

type ocspResponse struct {
	Status   asn1.Enumerated
	Response ocspResponseBytes `asn1:"explicit,tag:0,optional"`
}

type ocspResponseBytes struct {
	ResponseType asn1.ObjectIdentifier
	Response     []byte
}

type ocspBasicResponse struct {
	TBSResponseData    asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          asn1.BitString
	Certificates       []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type ocspResponseData struct {
	Version     int `asn1:"explicit,tag:0,default:0,optional"`
	ResponderID asn1.RawValue
	ProducedAt  time.Time `asn1:"generalized"`
	Responses   []ocspSingleResponse
	Extensions  []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type ocspSingleResponse struct {
	CertID     ocspCertID
	CertStatus asn1.RawValue
	ThisUpdate time.Time        `asn1:"generalized"`
	NextUpdate time.Time        `asn1:"generalized,explicit,tag:0,optional"`
	Extensions []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type ocspCertID struct {
	HashAlgorithm  pkix.AlgorithmIdentifier
	IssuerNameHash []byte
	IssuerKeyHash  []byte
	SerialNumber   *big.Int
}

type ocspRevokedInfo struct {
	RevocationTime time.Time       `asn1:"generalized"`
	Reason         asn1.Enumerated `asn1:"explicit,tag:0,optional"`
}

// ocsp asks a CA of the tenant, in process, about a certificate it
// issued, and checks that the CA signed the answer.
func (vc *verifyContext) ocsp(ca tenantCA, cert *smx509.Certificate) (Revocation, error) {
	req, err := pki.NewOCSPRequest(cert, ca.cert, nil)
	if err != nil {
		return Revocation{}, internalErr(err)
	}
	resp, err := vc.s.ca.RespondOCSP(vc.ctx, vc.tenant, ca.name, req)
	if err != nil {
		return Revocation{}, err
	}
	r, err := ocspStatus(resp, ca.cert, cert.SerialNumber)
	if err != nil {
		return Revocation{}, internalErr(err)
	}
	return r, nil
}

// ocspStatus reads the status of serial from a successful OCSPResponse
// signed (SM2 with SM3) by issuer.
func ocspStatus(der []byte, issuer *smx509.Certificate, serial *big.Int) (Revocation, error) {
	var resp ocspResponse
	if err := unmarshalAll(der, &resp); err != nil {
		return Revocation{}, err
	}
	if resp.Status != 0 {
		return Revocation{}, errors.New("cms: the OCSP answer is not successful")
	}
	var basic ocspBasicResponse
	if err := unmarshalAll(resp.Response.Response, &basic); err != nil {
		return Revocation{}, err
	}
	if err := issuer.CheckSignature(smx509.SM2WithSM3, basic.TBSResponseData.FullBytes, basic.Signature.RightAlign()); err != nil {
		return Revocation{}, err
	}
	var data ocspResponseData
	if err := unmarshalAll(basic.TBSResponseData.FullBytes, &data); err != nil {
		return Revocation{}, err
	}
	for _, r := range data.Responses {
		if r.CertID.SerialNumber.Cmp(serial) != 0 {
			continue
		}
		switch s := r.CertStatus; {
		case s.Class == asn1.ClassContextSpecific && s.Tag == 0:
			return Revocation{Status: Good, Source: SourceOCSP}, nil
		case s.Class == asn1.ClassContextSpecific && s.Tag == 1:
			var ri ocspRevokedInfo
			if err := unmarshalAll(appendTLV(nil, []byte{tagSequence}, s.Bytes), &ri); err != nil {
				return Revocation{}, err
			}
			return revoked(ri.RevocationTime, int(ri.Reason), SourceOCSP), nil
		}
		return Revocation{Status: Unknown}, nil
	}
	return Revocation{}, errors.New("cms: the OCSP answer is not about the certificate")
}
