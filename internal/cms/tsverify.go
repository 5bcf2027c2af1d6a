package cms

import (
	"bytes"
	"context"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
)

// TimestampVerifyRequest asks to verify a timestamp token.
type TimestampVerifyRequest struct {
	// Token is a TimeStampResp or a TimeStampToken (the ContentInfo), DER
	// or BER.
	Token []byte
	// Data is what was timestamped; or, when Digest is set, Digest is its
	// hash under the token's hash algorithm.
	Data   []byte
	Digest []byte
	// TrustAnchors, CRLs and UseOCSP are as in VerifyRequest.
	TrustAnchors TrustAnchors
	CRLs         [][]byte
	UseOCSP      bool
}

// VerifyTimestamp checks a timestamp token over data (or its digest):
// the message imprint, the TSA's SM2 signature over the TSTInfo, the
// signing-certificate(-v2) attribute against the TSA's certificate (which
// the token or, for a signature timestamp, its SignedData must hold), the
// certificate's extended key usage (timeStamping alone), its chain at
// genTime, and its revocation: revoked at or before genTime is invalid,
// later is reported. A TimeStampResp without a token is reported as
// timestamp_rejected. A token that does not parse is cms_malformed.
func (s *Service) VerifyTimestamp(ctx context.Context, tenant string, req TimestampVerifyRequest) (TimestampReport, error) {
	token, granted, err := tokenOf(req.Token)
	if err != nil {
		return TimestampReport{}, malformed(err, "is not a TimeStampResp or TimeStampToken (RFC 3161)")
	}
	if !granted {
		return TimestampReport{Chain: ChainUnchecked, Revocation: Revocation{Status: Unknown}, Reasons: []Reason{TimestampRejected}}, nil
	}
	t, err := parseToken(token)
	if err != nil {
		return TimestampReport{}, malformed(err, "is not a TimeStampToken (RFC 3161)")
	}
	if req.Data != nil && req.Digest != nil {
		return TimestampReport{}, fault.Invalid("give the timestamped data or its digest, not both")
	}
	vc, err := s.newVerifyContext(ctx, tenant, req.TrustAnchors, req.CRLs, req.UseOCSP, time.Time{})
	if err != nil {
		return TimestampReport{}, err
	}
	imprint := func(h imprintHash) []byte { return h.sum(req.Data) }
	if req.Digest != nil {
		imprint = func(imprintHash) []byte { return req.Digest }
	}
	return vc.judgeToken(t, imprint, nil)
}

// tokenOf returns the TimeStampToken of a TimeStampResp, or in itself a
// token (a ContentInfo, whose first element is an OID); granted is false
// for a response without one.
func tokenOf(in []byte) (token []byte, granted bool, err error) {
	if len(in) > maxInput {
		return nil, false, fmt.Errorf("cms: input longer than %d bytes", maxInput)
	}
	der, err := toDER(in)
	if err != nil {
		return nil, false, err
	}
	var resp timeStampResp
	if unmarshalAll(der, &resp) != nil {
		return der, true, nil // not a response: perhaps a token
	}
	switch resp.Status.Status {
	case statusGranted, statusGrantedWithMods:
		if len(resp.Token.FullBytes) == 0 {
			return nil, false, errors.New("cms: a granted TimeStampResp without a token")
		}
		return resp.Token.FullBytes, true, nil
	}
	return nil, false, nil
}

// timestampToken is a parsed TimeStampToken.
type timestampToken struct {
	sd      *parsedSignedData
	info    tstInfo
	genTime time.Time
	policy  string
}

// parseToken reads a TimeStampToken: a SignedData with one signer over
// an encapsulated TSTInfo.
func parseToken(der []byte) (*timestampToken, error) {
	sd, err := readSignedData(der)
	if err != nil {
		return nil, err
	}
	if !sd.sd.EncapContent.ContentType.Equal(oidTSTInfo) || sd.detached || len(sd.signers) != 1 {
		return nil, errors.New("cms: not a SignedData of one signer over a TSTInfo")
	}
	t := &timestampToken{sd: sd}
	if err := unmarshalAll(sd.content, &t.info); err != nil {
		return nil, err
	}
	if t.info.Version != 1 || t.info.SerialNumber == nil {
		return nil, errors.New("cms: not a version 1 TSTInfo")
	}
	if t.genTime, err = parseGenTime(t.info.GenTime); err != nil {
		return nil, err
	}
	if t.policy, err = decodeOID(t.info.Policy.FullBytes); err != nil {
		return nil, err
	}
	return t, nil
}

// token judges a TimeStampToken as judgeToken does; one that does not
// parse is reported as timestamp_malformed.
func (vc *verifyContext) token(der []byte, imprint func(imprintHash) []byte, extra []*smx509.Certificate) (TimestampReport, error) {
	t, err := parseToken(der)
	if err != nil {
		return TimestampReport{Chain: ChainUnchecked, Revocation: Revocation{Status: Unknown}, Reasons: []Reason{TimestampMalformed}}, nil
	}
	return vc.judgeToken(t, imprint, extra)
}

// judgeToken judges a TimeStampToken whose message imprint should be
// imprint(hash), with extra certificates to find the TSA's among.
func (vc *verifyContext) judgeToken(t *timestampToken, imprint func(imprintHash) []byte, extra []*smx509.Certificate) (TimestampReport, error) {
	r := TimestampReport{Chain: ChainUnchecked, Revocation: Revocation{Status: Unknown}}
	acc := t.info.Accuracy
	r.Time, r.Policy, r.Serial = t.genTime, t.policy, t.info.SerialNumber.String()
	r.Accuracy = time.Duration(acc.Seconds)*time.Second + time.Duration(acc.Millis)*time.Millisecond + time.Duration(acc.Micros)*time.Microsecond
	if t.info.Nonce != nil {
		r.Nonce = fmt.Sprintf("%x", t.info.Nonce)
	}
	certs := slices.Concat(t.sd.certs, extra)
	c := checkSignerInfo(&t.sd.signers[0], certs, oidTSTInfo, t.sd.content)
	if c.cert != nil {
		r.TSA = certificateInfo(c.cert)
	}
	r.Reasons = c.reasons
	h, ok := hashOf(t.info.MessageImprint.HashAlgorithm)
	switch {
	case !ok:
		r.Reasons = append(r.Reasons, UnsupportedAlgorithm)
	case !bytes.Equal(imprint(h), t.info.MessageImprint.HashedMessage):
		r.HashAlgorithm = h.name
		r.Reasons = append(r.Reasons, MessageImprintMismatch)
	default:
		r.HashAlgorithm = h.name
	}
	if c.reasons == nil {
		if !namesCertificate(c.signed, c.cert) {
			r.Reasons = append(r.Reasons, SigningCertificateMismatch)
		}
		if !slices.Equal(c.cert.ExtKeyUsage, []smx509.ExtKeyUsage{smx509.ExtKeyUsageTimeStamping}) || len(c.cert.UnknownExtKeyUsage) > 0 {
			r.Reasons = append(r.Reasons, NotTimestampingCertificate)
		}
		status, rev, reasons, err := vc.judge(c.cert, certs, t.genTime, smx509.ExtKeyUsageTimeStamping)
		if err != nil {
			return TimestampReport{}, err
		}
		r.Chain, r.Revocation, r.Reasons = status, rev, append(r.Reasons, reasons...)
	}
	r.Valid = len(r.Reasons) == 0
	return r, nil
}

// namesCertificate reports whether the signing-certificate-v2 (or v1)
// attribute among signed names cert first: its hash under the ESSCertID's
// algorithm, and its issuer and serial number when given.
func namesCertificate(signed attributes, cert *smx509.Certificate) bool {
	v, ok, err := signed.single(oidSigningCertV2)
	v2 := ok
	if err == nil && !ok {
		v, ok, err = signed.single(oidSigningCertV1)
	}
	var sc signingCertificate
	if err != nil || !ok || unmarshalAll(v.FullBytes, &sc) != nil || len(sc.Certs) == 0 {
		return false
	}
	id := sc.Certs[0]
	h, _ := hashNamed("sha1")
	if v2 {
		h, _ = hashNamed("sha256")
		if len(id.HashAlgorithm.Algorithm) > 0 {
			if h, ok = hashOf(id.HashAlgorithm); !ok {
				return false
			}
		}
	}
	if !bytes.Equal(h.sum(cert.Raw), id.CertHash) {
		return false
	}
	if id.IssuerSerial.Serial == nil {
		return true
	}
	issuer := id.IssuerSerial.Issuer
	return id.IssuerSerial.Serial.Cmp(cert.SerialNumber) == 0 && len(issuer) == 1 &&
		issuer[0].Class == asn1.ClassContextSpecific && issuer[0].Tag == 4 && bytes.Equal(issuer[0].Bytes, cert.RawIssuer)
}
