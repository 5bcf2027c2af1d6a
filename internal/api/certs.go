package api

import (
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/pki"
	"github.com/mimacrypto/mima/sdk"
)

func (s *Server) signCSR(c *call) (any, error) {
	var req sdk.SignCSRRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	ttl, err := durationOf("ttl", req.TTL)
	if err != nil {
		return nil, err
	}
	return certResult(s.pki.SignCSR(c.ctx, c.tenant, c.object, pki.SignCSRRequest{CSR: []byte(req.CSR), Profile: req.Profile, TTL: ttl}))
}

// issue certifies a key held in mima; the request also needs keys.read on
// that key.
func (s *Server) issue(c *call) (any, error) {
	var req sdk.IssueRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	ttl, err := durationOf("ttl", req.TTL)
	if err != nil {
		return nil, err
	}
	return certResult(s.pki.Issue(c.ctx, c.tenant, c.object, pki.IssueRequest{
		Key: req.Key, Profile: req.Profile, Subject: subjectOf(req.Subject), SANs: pki.SANs(req.SANs), TTL: ttl,
	}))
}

func (s *Server) issueKeyPair(c *call) (any, error) {
	var req sdk.KeyPairRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	c.markSensitive("password", []byte(req.Password))
	ttl, err := durationOf("ttl", req.TTL)
	if err != nil {
		return nil, err
	}
	kp, err := s.pki.IssueKeyPair(c.ctx, c.tenant, c.object, pki.KeyPairRequest{
		Profile: req.Profile, Subject: subjectOf(req.Subject), SANs: pki.SANs(req.SANs), TTL: ttl,
		Format: pki.KeyFormat(req.Format), WrappingKey: req.WrappingKey, Password: []byte(req.Password),
	})
	if err != nil {
		return nil, err
	}
	return sdk.KeyPair{Certificate: certOf(kp.Certificate), Format: string(kp.Format), PrivateKey: kp.PrivateKey}, nil
}

func (s *Server) issueDual(c *call) (any, error) {
	var req sdk.DualRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	ttl, err := durationOf("ttl", req.TTL)
	if err != nil {
		return nil, err
	}
	d, err := s.pki.IssueDual(c.ctx, c.tenant, c.object, pki.DualRequest{CSR: []byte(req.CSR), Profile: req.Profile, EncryptionProfile: req.EncryptionProfile, TTL: ttl})
	if err != nil {
		return nil, err
	}
	return sdk.Dual{Signing: certOf(d.Signing), Encryption: certOf(d.Encryption), EnvelopedKey: d.EnvelopedKey}, nil
}

type revokeRequest struct {
	Serial string `json:"serial"`
	Reason string `json:"reason"`
}

// revokeAtCA revokes a certificate that the CA in the path issued.
func (s *Server) revokeAtCA(c *call) (any, error) {
	var req revokeRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	cert, err := s.pki.GetCertificate(c.ctx, c.tenant, req.Serial)
	if err != nil {
		return nil, err
	}
	if cert.CA != c.object {
		return nil, fault.New(fault.CertificateNotFound, "CA %q issued no certificate with serial %s", c.object, req.Serial)
	}
	return certResult(s.pki.Revoke(c.ctx, c.tenant, req.Serial, pki.Reason(req.Reason)))
}

func (s *Server) getCertificate(c *call) (any, error) {
	return certResult(s.pki.GetCertificate(c.ctx, c.tenant, c.object))
}

func (s *Server) revokeCertificate(c *call) (any, error) {
	var req revokeRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return certResult(s.pki.Revoke(c.ctx, c.tenant, c.object, pki.Reason(req.Reason)))
}

func (s *Server) holdCertificate(c *call) (any, error) {
	return certResult(s.pki.Hold(c.ctx, c.tenant, c.object))
}

func (s *Server) releaseCertificate(c *call) (any, error) {
	return certResult(s.pki.Release(c.ctx, c.tenant, c.object))
}

type renewRequest struct {
	TTL string `json:"ttl"`
}

func (s *Server) renewCertificate(c *call) (any, error) {
	var req renewRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	ttl, err := durationOf("ttl", req.TTL)
	if err != nil {
		return nil, err
	}
	return certResult(s.pki.Renew(c.ctx, c.tenant, c.object, ttl))
}

// listCertificates searches by ca, subject, san, serial, state and the
// expires_after / expires_before window (RFC 3339); after continues.
func (s *Server) listCertificates(c *call) (any, error) {
	q := c.r.URL.Query()
	req := pki.SearchRequest{CA: q.Get("ca"), Subject: q.Get("subject"), SAN: q.Get("san"), Serial: q.Get("serial"),
		State: pki.CertState(q.Get("state")), Cursor: q.Get("after")}
	for name, dst := range map[string]*time.Time{"expires_after": &req.ExpiresAfter, "expires_before": &req.ExpiresBefore} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, fault.New(fault.InvalidArgument, "%s must be an RFC 3339 time", name)
			}
			*dst = t
		}
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			return nil, fault.New(fault.InvalidArgument, "limit must be a number")
		}
		req.Limit = n
	}
	page, err := s.pki.Search(c.ctx, c.tenant, req)
	if err != nil {
		return nil, err
	}
	out := sdk.CertificateList{Certificates: make([]sdk.Certificate, len(page.Certificates)), Next: page.Cursor}
	for i, cert := range page.Certificates {
		out.Certificates[i] = certOf(cert)
	}
	return out, nil
}

func (s *Server) keyCertificate(c *call) (any, error) {
	return certResult(s.pki.CertificateForKey(c.ctx, c.tenant, c.object))
}

// ocsp answers RFC 6960 requests: POST with an application/ocsp-request
// body, or GET with the base64 request in the path (RFC 6960 appendix A).
func (s *Server) ocsp(c *call) (any, error) {
	var req []byte
	if c.r.Method == http.MethodGet {
		b, err := base64.StdEncoding.DecodeString(c.r.PathValue("request"))
		if err != nil {
			return nil, fault.New(fault.InvalidBase64, "the OCSP request in the path is not base64")
		}
		req = b
	} else {
		b, err := io.ReadAll(c.r.Body)
		if err != nil {
			return nil, decodeError(err)
		}
		req = b
	}
	resp, err := s.pki.RespondOCSP(c.ctx, c.tenant, c.object, req)
	if err != nil {
		return nil, err
	}
	return raw{contentType: "application/ocsp-response", body: resp}, nil
}

// publicTenant takes the tenant from the path of the public CA routes
// (chain, CRL, OCSP), which relying parties fetch without a token; an
// unknown or deleted tenant is refused.
func (s *Server) publicTenant(next func(*call) (any, error)) func(*call) (any, error) {
	return func(c *call) (any, error) {
		c.tenant = c.r.PathValue("tenant")
		if _, err := s.auth.Tenant(c.ctx, c.tenant); err != nil {
			return nil, err
		}
		return next(c)
	}
}
