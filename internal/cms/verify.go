package cms

import (
	"context"
	"encoding/asn1"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
)

// VerifyRequest asks to verify a SignedData.
type VerifyRequest struct {
	// CMS is the SignedData: a ContentInfo, DER or BER, with either OID
	// set.
	CMS []byte
	// Content is the signed content of a detached SignedData; it must be
	// nil when the content is encapsulated.
	Content []byte
	// TrustAnchors are those of signers and TSAs.
	TrustAnchors TrustAnchors
	// CRLs are DER CRLs to check revocation with, besides the issuing
	// CA's own when a CA of the tenant issued a certificate.
	CRLs [][]byte
	// UseOCSP asks the tenant's CAs by OCSP instead of reading their CRLs.
	UseOCSP bool
	// At is the time to judge signers without a valid signature timestamp
	// at; zero is now.
	At time.Time
}

// Verify checks every signer and countersigner of a SignedData and
// reports on each: its certificate, signing time, signature timestamp,
// chain, revocation and, when not valid, the reasons (see Reason).
//
// A signer whose signature carries a valid signature timestamp
// (id-aa-signatureTimeStampToken over its signature value, RFC 3161
// appendix A) is judged at the timestamp's time, plus its accuracy: a
// certificate that expired or was revoked after that is still valid,
// with the revocation reported; one revoked at or before it is not
// (certificate_revoked). Other signers are judged at req.At, or now.
//
// Errors are for requests that cannot be judged: a CMS that does not
// parse (cms_malformed), a detached SignedData without req.Content, an
// unknown trust anchor CA, a malformed CRL.
func (s *Service) Verify(ctx context.Context, tenant string, req VerifyRequest) (VerifyReport, error) {
	p, err := parseSignedData(req.CMS)
	if err != nil {
		return VerifyReport{}, err
	}
	content := p.content
	switch {
	case p.detached && req.Content == nil:
		return VerifyReport{}, fault.Invalid("the SignedData is detached: the signed content is needed")
	case p.detached:
		content = req.Content
	case req.Content != nil:
		return VerifyReport{}, fault.Invalid("the SignedData holds its content: give no content besides")
	}
	vc, err := s.newVerifyContext(ctx, tenant, req.TrustAnchors, req.CRLs, req.UseOCSP, req.At)
	if err != nil {
		return VerifyReport{}, err
	}
	report := VerifyReport{ContentType: p.sd.EncapContent.ContentType.String(), Content: p.content, Valid: len(p.signers) > 0}
	for i := range p.signers {
		r, err := vc.signer(&p.signers[i], p.certs, p.sd.EncapContent.ContentType, content, 0)
		if err != nil {
			return VerifyReport{}, err
		}
		report.Valid = report.Valid && r.allValid()
		report.Signers = append(report.Signers, r)
	}
	return report, nil
}

// maxCounterDepth bounds countersignatures of countersignatures.
const maxCounterDepth = 8

// signer judges one SignerInfo over content and its countersigners,
// depth levels below a signer of the SignedData.
func (vc *verifyContext) signer(si *signerInfo, certs []*smx509.Certificate, contentType asn1.ObjectIdentifier, content []byte, depth int) (SignerReport, error) {
	c := checkSignerInfo(si, certs, contentType, content)
	r := SignerReport{SigningTime: c.signingTime, EvaluatedAt: vc.at, Chain: ChainUnchecked, Revocation: Revocation{Status: Unknown}, Reasons: c.reasons}
	if c.cert != nil {
		r.Certificate = certificateInfo(c.cert)
	}
	if c.reasons == nil {
		if err := vc.signatureTimestamp(&r, c.unsigned, si.Signature, certs); err != nil {
			return SignerReport{}, err
		}
		status, rev, reasons, err := vc.judge(c.cert, certs, r.EvaluatedAt, smx509.ExtKeyUsageAny)
		if err != nil {
			return SignerReport{}, err
		}
		r.Chain, r.Revocation, r.Reasons = status, rev, append(r.Reasons, reasons...)
	}
	r.Valid = len(r.Reasons) == 0
	for _, v := range c.unsigned.values(oidCounterSignature) {
		var cs signerInfo
		if depth >= maxCounterDepth || unmarshalAll(v.FullBytes, &cs) != nil {
			r.CounterSignatures = append(r.CounterSignatures, SignerReport{Chain: ChainUnchecked, Revocation: Revocation{Status: Unknown}, Reasons: []Reason{SignedAttributesInvalid}})
			continue
		}
		cr, err := vc.signer(&cs, certs, nil, si.Signature, depth+1)
		if err != nil {
			return SignerReport{}, err
		}
		r.CounterSignatures = append(r.CounterSignatures, cr)
	}
	return r, nil
}

// signatureTimestamp verifies the signature timestamps among unsigned
// (over the SM3, SHA-256 or SHA-1 hash of the signature value) and
// reports the earliest valid one, moving the evaluation time to the
// latest its time can be (genTime plus accuracy); when none is valid it
// reports the first with TimestampInvalid.
func (vc *verifyContext) signatureTimestamp(r *SignerReport, unsigned attributes, signature []byte, certs []*smx509.Certificate) error {
	for _, v := range unsigned.values(oidSignatureTimeAttr) {
		tr, err := vc.token(v.FullBytes, func(h imprintHash) []byte { return h.sum(signature) }, certs)
		if err != nil {
			return err
		}
		switch {
		case tr.Valid && (r.Timestamp == nil || !r.Timestamp.Valid || tr.Time.Before(r.Timestamp.Time)):
			r.Timestamp = &tr
		case r.Timestamp == nil:
			r.Timestamp = &tr
		}
	}
	if r.Timestamp == nil {
		return nil
	}
	if !r.Timestamp.Valid {
		r.Reasons = append(r.Reasons, TimestampInvalid)
		return nil
	}
	r.EvaluatedAt = r.Timestamp.Time.Add(r.Timestamp.Accuracy)
	return nil
}
