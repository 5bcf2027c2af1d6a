package cms

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/asn1"
	"math/big"

	"github.com/mimacrypto/mima/internal/fault"
)

// Timestamp answers a TimeStampReq (RFC 3161 section 2.4.1, DER or BER)
// to the TSA tsa of the tenant, and returns a DER TimeStampResp.
//
// A request whose message imprint uses SM3, SHA-256 or SHA-1 gets status
// granted and a token (see issueToken) whose TSTInfo has the TSA's policy
// and accuracy, the next serial number of the TSA (1, 2, 3, ...: never
// reused, see nextSerial), genTime now in UTC with as many decimals as
// the accuracy calls for, the request's imprint and nonce, and the TSA's
// name; the TSA's certificate is in it when certReq is set. The SignedData
// names its signer by issuer and serial number, and the
// signing-certificate-v2 attribute holds the SM3 (or SHA-256, see
// TSARequest.CertIDHash) hash of the TSA certificate with its issuer and
// serial number.
//
// A request in error gets status rejection, a statusString and one
// failInfo, and err nil: badDataFormat (does not parse, imprint of the
// wrong length, nonce over 256 bits), badRequest (version other than 1),
// badAlg (another hash), unacceptedPolicy (a reqPolicy other than the
// TSA's) or unacceptedExtension (any extension). When the TSA cannot
// sign (sealed, its certificate revoked or expired, its key disabled or
// rotated) the answer is rejection with systemFailure and err says why,
// for logs. An unknown TSA is tsa_not_found and no answer.
func (s *Service) Timestamp(ctx context.Context, tenant, tsa string, reqDER []byte) ([]byte, error) {
	a, err := s.loadTSA(ctx, tenant, tsa)
	if err != nil {
		return nil, err
	}
	q, rej := parseTimeStampReq(reqDER)
	if rej == nil && q.policy != nil && !bytes.Equal(q.policy, a.policy) {
		rej = &rejection{failUnacceptedPolicy, "this TSA issues timestamps under policy " + a.rec.Policy + " only"}
	}
	if rej != nil {
		return rejectResponse(*rej)
	}
	token, err := s.issueToken(ctx, tenant, a, q)
	if err != nil {
		resp, rerr := rejectResponse(rejection{failSystemFailure, "the TSA cannot issue timestamps now"})
		if rerr != nil {
			return nil, rerr
		}
		return resp, err
	}
	resp, err := asn1.Marshal(timeStampResp{Status: pkiStatusInfo{Status: statusGranted}, Token: asn1.RawValue{FullBytes: token}})
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return resp, nil
}

// rejectResponse encodes a TimeStampResp with status rejection.
func rejectResponse(r rejection) ([]byte, error) {
	resp, err := asn1.Marshal(timeStampResp{Status: pkiStatusInfo{
		Status:       statusRejection,
		StatusString: []asn1.RawValue{{Tag: asn1.TagUTF8String, Bytes: []byte(r.text)}},
		FailInfo:     failInfo(r.bit),
	}})
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return resp, nil
}

// stamp returns a TimeStampToken of the TSA tsa over an SM3 digest, with
// a random nonce and the TSA certificate: the signature timestamp of a
// SignerInfo (RFC 3161 appendix A).
func (s *Service) stamp(ctx context.Context, tenant, tsa string, digest []byte) ([]byte, error) {
	a, err := s.loadTSA(ctx, tenant, tsa)
	if err != nil {
		return nil, err
	}
	nonce, err := rand.Int(s.rand, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return s.issueToken(ctx, tenant, a, &tsQuery{
		imprint: messageImprint{HashAlgorithm: rfcOIDs.algorithm(oidSM3), HashedMessage: digest},
		nonce:   nonce, certReq: true,
	})
}
