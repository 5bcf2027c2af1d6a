package pki

import (
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// OCSP response statuses (RFC 6960 section 4.2.1).
const (
	ocspSuccessful       = 0
	ocspMalformedRequest = 1
	ocspInternalError    = 2
	ocspTryLater         = 3
	ocspUnauthorized     = 6
)

var (
	oidOCSPBasic  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	oidSM2WithSM3 = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 501}
	ocspGood      = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0}
	ocspUnknown   = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2}
)

// The ASN.1 of an OCSPResponse (RFC 6960 section 4.2.1).
type ocspResponse struct {
	Status   asn1.Enumerated
	Response responseBytes `asn1:"explicit,tag:0,optional"`
}

type responseBytes struct {
	ResponseType asn1.ObjectIdentifier
	Response     []byte
}

type basicResponse struct {
	TBSResponseData    asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          asn1.BitString
	Certificates       []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type responseData struct {
	Version            int `asn1:"explicit,tag:0,default:0,optional"`
	ResponderID        asn1.RawValue
	ProducedAt         time.Time `asn1:"generalized"`
	Responses          []singleResponse
	ResponseExtensions []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type singleResponse struct {
	CertID     asn1.RawValue
	CertStatus asn1.RawValue
	ThisUpdate time.Time `asn1:"generalized"`
	NextUpdate time.Time `asn1:"generalized,explicit,tag:0,optional"`
}

type revokedInfo struct {
	RevocationTime time.Time       `asn1:"generalized"`
	Reason         asn1.Enumerated `asn1:"explicit,tag:0,optional"`
}

// ocspStatusOnly is an OCSPResponse without responseBytes: the answer to
// a request that gets no signed response.
func ocspStatusOnly(status byte) []byte { return []byte{0x30, 0x03, 0x0a, 0x01, status} }

// ocspRevoked encodes the certStatus of a revoked certificate:
// [1] IMPLICIT RevokedInfo. An unspecified reason is left out.
func ocspRevoked(at time.Time, reason int) (asn1.RawValue, error) {
	der, err := asn1.Marshal(revokedInfo{RevocationTime: at.UTC(), Reason: asn1.Enumerated(reason)})
	if err != nil {
		return asn1.RawValue{}, err
	}
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(der, &seq); err != nil {
		return asn1.RawValue{}, err
	}
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: seq.Bytes}, nil
}

// signOCSP encodes a successful OCSPResponse holding a BasicOCSPResponse
// over data, signed with SM2/SM3 by signer (the CA key), naming the CA by
// its subject and carrying its certificate.
func signOCSP(signer crypto.Signer, data responseData, caSubject, caCert []byte) ([]byte, error) {
	data.ResponderID = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: caSubject}
	tbs, err := asn1.Marshal(data)
	if err != nil {
		return nil, err
	}
	sig, err := signer.Sign(nil, tbs, sm2.DefaultSM2SignerOpts)
	if err != nil {
		return nil, err
	}
	basic, err := asn1.Marshal(basicResponse{
		TBSResponseData:    asn1.RawValue{FullBytes: tbs},
		SignatureAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidSM2WithSM3},
		Signature:          asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
		Certificates:       []asn1.RawValue{{FullBytes: caCert}},
	})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(ocspResponse{
		Status:   ocspSuccessful,
		Response: responseBytes{ResponseType: oidOCSPBasic, Response: basic},
	})
}

// OCSPStatus is what an OCSP response says of one certificate.
type OCSPStatus struct {
	// Good and Revoked are both false when the responder does not know
	// the certificate.
	Good, Revoked bool
	// RevokedAt and Reason ("" when unspecified) are set when Revoked.
	RevokedAt time.Time
	Reason    Reason
}

// ParseOCSPResponse reads the status of serial from a successful
// OCSPResponse that issuer signed with SM2/SM3, as this package makes
// them.
func ParseOCSPResponse(der []byte, issuer *smx509.Certificate, serial *big.Int) (OCSPStatus, error) {
	var resp ocspResponse
	if err := unmarshalAll(der, &resp); err != nil {
		return OCSPStatus{}, err
	}
	if resp.Status != ocspSuccessful {
		return OCSPStatus{}, errors.New("pki: the OCSP answer is not successful")
	}
	var basic basicResponse
	if err := unmarshalAll(resp.Response.Response, &basic); err != nil {
		return OCSPStatus{}, err
	}
	if err := issuer.CheckSignature(smx509.SM2WithSM3, basic.TBSResponseData.FullBytes, basic.Signature.RightAlign()); err != nil {
		return OCSPStatus{}, err
	}
	var data responseData
	if err := unmarshalAll(basic.TBSResponseData.FullBytes, &data); err != nil {
		return OCSPStatus{}, err
	}
	for _, r := range data.Responses {
		var id certID
		if err := unmarshalAll(r.CertID.FullBytes, &id); err != nil {
			return OCSPStatus{}, err
		}
		if id.SerialNumber.Cmp(serial) != 0 {
			continue
		}
		switch s := r.CertStatus; {
		case s.Class == asn1.ClassContextSpecific && s.Tag == 0:
			return OCSPStatus{Good: true}, nil
		case s.Class == asn1.ClassContextSpecific && s.Tag == 1:
			var ri revokedInfo
			if _, err := asn1.UnmarshalWithParams(s.FullBytes, &ri, "tag:1"); err != nil {
				return OCSPStatus{}, err
			}
			return OCSPStatus{Revoked: true, RevokedAt: ri.RevocationTime.UTC(), Reason: ReasonOf(int(ri.Reason))}, nil
		}
		return OCSPStatus{}, nil
	}
	return OCSPStatus{}, errors.New("pki: the OCSP answer is not about the certificate")
}

// unmarshalAll decodes der into out and refuses trailing data.
func unmarshalAll(der []byte, out any) error {
	rest, err := asn1.Unmarshal(der, out)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return errors.New("pki: trailing data")
	}
	return nil
}
