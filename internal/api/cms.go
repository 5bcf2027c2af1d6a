package api

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/cms"
	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/sm9"
	"github.com/mimacrypto/mima/sdk"
)

type cmsAnswer struct {
	CMS []byte `json:"cms"`
}

func cmsResult(der []byte, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return cmsAnswer{CMS: der}, nil
}

func signerOf(o sdk.SignerOptions) cms.SignerOptions {
	return cms.SignerOptions{Key: o.Key, Certificate: o.Certificate, IncludeChain: o.IncludeChain, SigningTime: o.SigningTime, TSA: o.TSA}
}

// cmsSign and the other signing routes name the signing key in the body:
// they need cms.sign on it.
func (s *Server) cmsSign(c *call) (any, error) {
	var req sdk.CMSSignRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	c.markSensitive("content", req.Content)
	return cmsResult(s.cms.Sign(c.ctx, c.tenant, cms.SignRequest{SignerOptions: signerOf(req.SignerOptions), Content: req.Content, Detached: req.Detached, RFC5652: req.RFC5652}))
}

func (s *Server) cmsAddSigner(c *call) (any, error) {
	var req sdk.CMSAddSignerRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return cmsResult(s.cms.AddSigner(c.ctx, c.tenant, cms.AddSignerRequest{SignerOptions: signerOf(req.SignerOptions), CMS: req.CMS, Content: req.Content}))
}

func (s *Server) cmsCounterSign(c *call) (any, error) {
	var req sdk.CMSCounterSignRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return cmsResult(s.cms.CounterSign(c.ctx, c.tenant, cms.CounterSignRequest{SignerOptions: signerOf(req.SignerOptions), CMS: req.CMS, Signer: req.Signer}))
}

func (s *Server) cmsVerify(c *call) (any, error) {
	var req sdk.CMSVerifyRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	rep, err := s.cms.Verify(c.ctx, c.tenant, cms.VerifyRequest{
		CMS: req.CMS, Content: req.Content, TrustAnchors: cms.TrustAnchors{CAs: req.TrustCAs, PEM: req.TrustPEM},
		CRLs: req.CRLs, UseOCSP: req.UseOCSP, At: req.At,
	})
	if err != nil {
		return nil, err
	}
	out := sdk.CMSVerifyReport{Valid: rep.Valid, ContentType: rep.ContentType, Content: rep.Content}
	for _, sr := range rep.Signers {
		out.Signers = append(out.Signers, signerReportOf(sr))
	}
	return out, nil
}

func signerReportOf(r cms.SignerReport) sdk.SignerReport {
	out := sdk.SignerReport{
		Valid: r.Valid, Certificate: sdk.CertificateInfo(r.Certificate), SigningTime: r.SigningTime,
		EvaluatedAt: r.EvaluatedAt, Chain: string(r.Chain), Revocation: revocationOf(r.Revocation), Reasons: reasons(r.Reasons),
	}
	if r.Timestamp != nil {
		ts := timestampReportOf(*r.Timestamp)
		out.Timestamp = &ts
	}
	for _, cs := range r.CounterSignatures {
		out.CounterSignatures = append(out.CounterSignatures, signerReportOf(cs))
	}
	return out
}

func revocationOf(r cms.Revocation) sdk.Revocation {
	return sdk.Revocation{Status: string(r.Status), RevokedAt: r.RevokedAt, Reason: r.Reason, Source: r.Source}
}

func reasons(rs []cms.Reason) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

func timestampReportOf(r cms.TimestampReport) sdk.TimestampReport {
	return sdk.TimestampReport{
		Valid: r.Valid, Time: r.Time, Accuracy: durationText(r.Accuracy), Serial: r.Serial, Policy: r.Policy, Nonce: r.Nonce,
		HashAlgorithm: r.HashAlgorithm, TSA: sdk.CertificateInfo(r.TSA), Chain: string(r.Chain),
		Revocation: revocationOf(r.Revocation), Reasons: reasons(r.Reasons),
	}
}

func (s *Server) cmsEncrypt(c *call) (any, error) {
	var req sdk.CMSEncryptRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	c.markSensitive("content", req.Content)
	return cmsResult(s.cms.Encrypt(cms.EnvelopeRequest{Recipients: req.Recipients, Content: req.Content, RFC5652: req.RFC5652}))
}

type contentAnswer struct {
	Content []byte `json:"content"`
}

// cmsDecrypt needs cms.decrypt on the key named in the body.
func (s *Server) cmsDecrypt(c *call) (any, error) {
	var req sdk.CMSDecryptRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	content, err := s.cms.Decrypt(c.ctx, c.tenant, cms.DecryptRequest{CMS: req.CMS, Key: req.Key})
	if err != nil {
		return nil, err
	}
	return contentAnswer{Content: content}, nil
}

func tsaOf(t cms.TSA) sdk.TSA {
	return sdk.TSA{Name: t.Name, CA: t.CA, Key: t.Key, Certificate: t.Certificate, Policy: t.Policy,
		Accuracy: durationText(t.Accuracy), CertIDHash: t.CertIDHash, CreatedAt: t.CreatedAt}
}

func (s *Server) createTSA(c *call) (any, error) {
	var req sdk.TSARequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	acc, err := durationOf("accuracy", req.Accuracy)
	if err != nil {
		return nil, err
	}
	ttl, err := durationOf("ttl", req.TTL)
	if err != nil {
		return nil, err
	}
	t, err := s.cms.CreateTSA(c.ctx, c.tenant, cms.TSARequest{Name: req.Name, CA: req.CA, Policy: req.Policy, Accuracy: acc,
		CertIDHash: req.CertIDHash, Subject: subjectOf(req.Subject), TTL: ttl})
	if err != nil {
		return nil, err
	}
	c.status = http.StatusCreated
	return tsaOf(t), nil
}

type tsaList struct {
	TSAs []sdk.TSA `json:"tsas"`
}

func (s *Server) listTSAs(c *call) (any, error) {
	ts, err := s.cms.ListTSAs(c.ctx, c.tenant)
	if err != nil {
		return nil, err
	}
	out := tsaList{TSAs: make([]sdk.TSA, len(ts))}
	for i, t := range ts {
		out.TSAs[i] = tsaOf(t)
	}
	return out, nil
}

// defaultTSA is the TSA POST /v1/tsa uses.
const defaultTSA = "default"

// timestamp answers an RFC 3161 application/timestamp-query with an
// application/timestamp-reply; a bad query is a rejection reply, not an
// HTTP error (RFC 3161 section 3.4).
func (s *Server) timestamp(c *call) (any, error) {
	if ct := c.r.Header.Get("Content-Type"); ct != "application/timestamp-query" {
		return nil, fault.New(fault.BadRequest, "the body must be application/timestamp-query, not %q", ct)
	}
	req, err := io.ReadAll(c.r.Body)
	if err != nil {
		return nil, decodeError(err)
	}
	resp, err := s.cms.Timestamp(c.ctx, c.tenant, c.object, req)
	if err != nil {
		return nil, err
	}
	return raw{contentType: "application/timestamp-reply", body: resp}, nil
}

func (s *Server) tsaCertificate(c *call) (any, error) {
	chain, err := s.cms.TSACertificateChain(c.ctx, c.tenant, c.object)
	if err != nil {
		return nil, err
	}
	return raw{contentType: "application/x-pem-file", body: []byte(chain)}, nil
}

func (s *Server) verifyTimestamp(c *call) (any, error) {
	var req sdk.TimestampVerifyRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	rep, err := s.cms.VerifyTimestamp(c.ctx, c.tenant, cms.TimestampVerifyRequest{Token: req.Token, Data: req.Data, Digest: req.Digest,
		TrustAnchors: cms.TrustAnchors{CAs: req.TrustCAs, PEM: req.TrustPEM}, CRLs: req.CRLs, UseOCSP: req.UseOCSP})
	if err != nil {
		return nil, err
	}
	return timestampReportOf(rep), nil
}

type challengeRequest struct {
	Tenant string `json:"tenant"`
}

// challenge and login are public: a certificate holder has no token yet.
// The tenant comes in the body; challenges are made only for a tenant that
// exists (tenant_not_found otherwise: tenant names are not secret, the
// public PKI routes carry them in their paths).
func (s *Server) challenge(c *call) (any, error) {
	var req challengeRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if _, err := s.auth.Tenant(c.ctx, req.Tenant); err != nil {
		return nil, err
	}
	c.tenant = req.Tenant
	ch, err := s.cms.Challenge(c.ctx, req.Tenant)
	if err != nil {
		return nil, err
	}
	return sdk.Challenge{ID: ch.ID, Nonce: ch.Nonce, ExpiresAt: ch.ExpiresAt}, nil
}

func (s *Server) login(c *call) (any, error) {
	var req sdk.LoginRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	c.tenant = req.Tenant
	var id cms.Identity
	var err error
	if req.SM9 != nil {
		if req.Certificate != "" {
			return nil, fault.New(fault.InvalidArgument, "a login carries a certificate or sm9, not both")
		}
		id, err = s.cms.LoginSM9(c.ctx, req.Tenant, cms.SM9LoginRequest{ChallengeID: req.ChallengeID, KGC: req.SM9.KGC, ID: req.SM9.ID, HID: req.SM9.HID, Signature: req.Signature}, s.verifySM9Login)
	} else {
		id, err = s.cms.Login(c.ctx, req.Tenant, cms.LoginRequest{ChallengeID: req.ChallengeID, Signature: req.Signature, CertificatePEM: req.Certificate})
	}
	if err != nil {
		return nil, err
	}
	who := id.Certificate.Subject
	if id.KGC != "" {
		who = "sm9:" + id.KGC + ":" + id.SM9ID
	}
	c.object = who
	if id.Owner == "" {
		return nil, fault.New(fault.LoginRuleNotMatched, "login rule %q was written by an earlier version and has no owner token; write it again", id.Rule)
	}
	issued, err := s.auth.CreateTokenUnder(c.ctx, req.Tenant, id.Owner, authn.TokenRequest{Policies: id.Policies, TTL: id.TTL, DisplayName: "login " + who})
	if err != nil {
		return nil, err
	}
	out := sdk.LoginResult{TokenCreated: sdk.TokenCreated{Token: issued.Token, TokenInfo: infoOf(issued.Info)},
		Identity: sdk.CertificateInfo(id.Certificate), Rule: id.Rule}
	if id.KGC != "" {
		out.SM9 = &sdk.SM9Login{KGC: id.KGC, ID: id.SM9ID}
	}
	return out, nil
}

// verifySM9Login checks the SM9 signature of a login with the tenant's
// KGC (cms.SM9Verifier). The route is public: every name that is not an
// SM9 signature KGC of the tenant gets the same answer.
func (s *Server) verifySM9Login(ctx context.Context, tenant, kgc, id string, msg, sig []byte) error {
	v, err := s.sm9.Verify(ctx, tenant, kgc, sm9.VerifyRequest{ID: id, Input: msg, Signature: sig, HID: device.SM9SignHID})
	switch {
	case fault.Is(err, fault.KeyNotFound) || fault.Is(err, fault.KeyTypeMismatch):
		return fault.New(fault.KeyNotFound, "the tenant has no SM9 signature KGC %q", kgc)
	case err != nil:
		return err
	case v.Reason == fault.IdentityExpired:
		return fault.New(v.Reason, "identity %q of KGC %q has expired", id, kgc)
	case v.Reason == fault.IdentityRevoked:
		return fault.New(v.Reason, "identity %q of KGC %q is revoked", id, kgc)
	case !v.Valid:
		return fault.New(fault.SignatureInvalid, "the signature over the challenge does not verify for identity %q of KGC %q", id, kgc)
	}
	return nil
}

func loginRuleOf(r cms.LoginRule) sdk.LoginRule {
	return sdk.LoginRule{Name: r.Name, Match: string(r.Match), Pattern: r.Pattern, CA: r.CA, KGC: r.KGC, Policies: r.Policies, TTL: durationText(r.TTL)}
}

func (s *Server) putLoginRule(c *call) (any, error) {
	var req sdk.LoginRule
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	ttl, err := durationOf("ttl", req.TTL)
	if err != nil {
		return nil, err
	}
	rule := cms.LoginRule{Name: c.object, Match: cms.Match(req.Match), Pattern: req.Pattern, CA: req.CA, KGC: req.KGC, Policies: req.Policies, TTL: ttl}
	if err := rule.Check(); err != nil {
		return nil, err
	}
	// The rule's tokens descend from an owner token that the writer
	// creates now: the rule grants only what the writer could grant a
	// child, and revoking the writer revokes them all.
	owner, err := s.auth.CreateToken(c.ctx, c.token, c.tenant, authn.TokenRequest{Policies: rule.Policies, TTL: authn.MaxTTL, DisplayName: "login rule " + rule.Name})
	if err != nil {
		return nil, err
	}
	rule.Owner = owner.Info.Accessor
	r, prev, err := s.cms.PutLoginRule(c.ctx, c.tenant, rule)
	if err != nil {
		return nil, errors.Join(err, s.auth.RevokeToken(c.ctx, c.tenant, rule.Owner))
	}
	if err := s.revokeOwner(c, prev); err != nil {
		return nil, err
	}
	return loginRuleOf(r), nil
}

// revokeOwner revokes the owner token of a replaced or deleted login rule,
// and with it every token that rule issued.
func (s *Server) revokeOwner(c *call, owner string) error {
	if owner == "" {
		return nil
	}
	if err := s.auth.RevokeToken(c.ctx, c.tenant, owner); err != nil && !fault.Is(err, fault.TokenNotFound) {
		return err
	}
	return nil
}

func (s *Server) getLoginRule(c *call) (any, error) {
	r, err := s.cms.GetLoginRule(c.ctx, c.tenant, c.object)
	if err != nil {
		return nil, err
	}
	return loginRuleOf(r), nil
}

type loginRuleList struct {
	Rules []sdk.LoginRule `json:"rules"`
}

func (s *Server) listLoginRules(c *call) (any, error) {
	rs, err := s.cms.ListLoginRules(c.ctx, c.tenant)
	if err != nil {
		return nil, err
	}
	out := loginRuleList{Rules: make([]sdk.LoginRule, len(rs))}
	for i, r := range rs {
		out.Rules[i] = loginRuleOf(r)
	}
	return out, nil
}

func (s *Server) deleteLoginRule(c *call) (any, error) {
	owner, err := s.cms.DeleteLoginRule(c.ctx, c.tenant, c.object)
	if err != nil {
		return nil, err
	}
	if err := s.revokeOwner(c, owner); err != nil {
		return nil, err
	}
	c.status = http.StatusNoContent
	return nil, nil
}
