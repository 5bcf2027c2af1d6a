package pki

import (
	"bytes"
	"context"
	"encoding/asn1"
	"math/big"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

// RespondOCSP answers a DER OCSPRequest (RFC 6960) about certificates of
// CA ca, and always returns a DER OCSPResponse:
//
//   - successful: a BasicOCSPResponse signed by the CA key itself with
//     SM2/SM3 (1.2.156.10197.1.501, identity 1234567812345678), the
//     responder named by the CA's subject, the CA certificate included,
//     producedAt and thisUpdate now, nextUpdate OCSPValidity later (see
//     Config), the request's nonce echoed. Each certificate is good,
//     revoked (with time and reason; on hold is revoked, certificateHold)
//     or unknown: not issued by this CA, or asked about with an issuer
//     hash that does not match it or a hash algorithm other than SHA-1,
//     SHA-256 and SM3 (1.2.156.10197.1.401).
//   - malformedRequest: a request that does not parse, asks about no or
//     more than 100 certificates, or has a bad nonce.
//   - unauthorized: the CA does not exist in the tenant or is pending.
//   - tryLater (sealed) or internalError: err then says why, for logs.
func (s *Service) RespondOCSP(ctx context.Context, tenant, ca string, requestDER []byte) ([]byte, error) {
	q, err := parseOCSPRequest(requestDER)
	if err != nil {
		return ocspStatusOnly(ocspMalformedRequest), nil
	}
	a, err := s.loadCA(ctx, tenant, ca)
	switch {
	case fault.Is(err, fault.CANotFound) || fault.Is(err, fault.InvalidArgument):
		return ocspStatusOnly(ocspUnauthorized), nil
	case fault.Is(err, fault.Sealed):
		return ocspStatusOnly(ocspTryLater), err
	case err != nil:
		return ocspStatusOnly(ocspInternalError), err
	case a.rec.State != Active:
		return ocspStatusOnly(ocspUnauthorized), nil
	}
	resp, err := s.answerOCSP(ctx, a, q)
	if err != nil {
		if fault.Is(err, fault.Sealed) {
			return ocspStatusOnly(ocspTryLater), err
		}
		return ocspStatusOnly(ocspInternalError), err
	}
	return resp, nil
}

// answerOCSP makes the signed answer of an active CA to q.
func (s *Service) answerOCSP(ctx context.Context, a *authority, q *ocspQuery) ([]byte, error) {
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	now := s.clock()
	data := responseData{ProducedAt: now}
	if q.nonce != nil {
		data.ResponseExtensions = append(data.ResponseExtensions, *q.nonce)
	}
	for _, id := range q.certs {
		status, err := s.ocspStatus(ctx, st, a, id)
		if err != nil {
			return nil, err
		}
		data.Responses = append(data.Responses, singleResponse{
			CertID: asn1.RawValue{FullBytes: id.Raw}, CertStatus: status,
			ThisUpdate: now, NextUpdate: now.Add(a.rec.Config.OCSPValidity),
		})
	}
	signer, err := s.keys.Signer(ctx, a.tenant, a.rec.Key)
	if err != nil {
		return nil, err
	}
	resp, err := signOCSP(signer, data, a.cert.RawSubject, a.rec.Certificate)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return resp, nil
}

// ocspStatus returns the certStatus of one CertID.
func (s *Service) ocspStatus(ctx context.Context, st storage.Backend, a *authority, id certID) (asn1.RawValue, error) {
	ids, ok := a.ids[id.HashAlgorithm.Algorithm.String()]
	if !ok || !bytes.Equal(ids.name, id.NameHash) || !bytes.Equal(ids.key, id.IssuerKeyHash) || !ourSerial(id.SerialNumber) {
		return ocspUnknown, nil
	}
	c, err := readCert(ctx, st, a.tenant, serialString(id.SerialNumber))
	if fault.Is(err, fault.CertificateNotFound) {
		return ocspUnknown, nil
	}
	if err != nil {
		return asn1.RawValue{}, err
	}
	if c.CA != a.rec.Name {
		return ocspUnknown, nil
	}
	if c.State == Valid {
		return ocspGood, nil
	}
	code, _ := c.Reason.code()
	status, err := ocspRevoked(c.RevokedAt, code)
	if err != nil {
		return asn1.RawValue{}, fault.Unexpected(err)
	}
	return status, nil
}

// ourSerial reports whether n could be a serial number this service made.
func ourSerial(n *big.Int) bool { return n.Sign() > 0 && n.BitLen() <= 8*serialBytes }
