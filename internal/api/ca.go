package api

import (
	"crypto"
	"encoding/pem"
	"net/http"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/duration"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/pki"
	"github.com/mimacrypto/mima/sdk"
)

// pemOf encodes DER as one PEM block, or "" for none.
func pemOf(typ string, der []byte) string {
	if len(der) == 0 {
		return ""
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// publicKeyPEM encodes a public key as a PEM "PUBLIC KEY" block
// (SubjectPublicKeyInfo), as the key and CA routes answer them.
func publicKeyPEM(pub crypto.PublicKey) (string, error) {
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fault.Wrap(err, fault.Internal, "encoding a public key")
	}
	return pemOf("PUBLIC KEY", der), nil
}

// durationOf parses an optional duration field: Go's syntax or whole
// days ("720h", "30d", "1d12h"); "" is zero.
func durationOf(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := duration.Parse(s)
	if err != nil {
		return 0, fault.New(fault.InvalidArgument, "%s must be a duration such as \"720h\" or \"30d\"", field)
	}
	return d, nil
}

// durationText shows a duration field, "" for none.
func durationText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func subjectOf(s sdk.Subject) pki.Name {
	return pki.Name{CommonName: s.CommonName, Organization: s.Organization, OrganizationalUnit: s.OrganizationalUnit,
		Country: s.Country, Province: s.Province, Locality: s.Locality}
}

func caConfigOf(c sdk.CAConfig) (pki.Config, error) {
	crl, err := durationOf("crl_validity", c.CRLValidity)
	if err != nil {
		return pki.Config{}, err
	}
	ocsp, err := durationOf("ocsp_validity", c.OCSPValidity)
	if err != nil {
		return pki.Config{}, err
	}
	return pki.Config{CRLURL: c.CRLURL, OCSPURL: c.OCSPURL, CRLValidity: crl, OCSPValidity: ocsp}, nil
}

func caOf(ca pki.CA) sdk.CA {
	return sdk.CA{
		Name: ca.Name, Type: string(ca.Kind), State: string(ca.State), Key: ca.Key, Parent: ca.Parent,
		Subject: ca.Subject, Certificate: pemOf("CERTIFICATE", ca.Certificate), CSR: pemOf("CERTIFICATE REQUEST", ca.CSR),
		NotBefore: ca.NotBefore, NotAfter: ca.NotAfter, MaxPathLen: ca.MaxPathLen, CreatedAt: ca.CreatedAt,
		Config: sdk.CAConfig{CRLURL: ca.Config.CRLURL, OCSPURL: ca.Config.OCSPURL,
			CRLValidity: durationText(ca.Config.CRLValidity), OCSPValidity: durationText(ca.Config.OCSPValidity)},
	}
}

func caResult(ca pki.CA, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return caOf(ca), nil
}

func certOf(c pki.Certificate) sdk.Certificate {
	return sdk.Certificate{
		Serial: c.Serial, CA: c.CA, Profile: c.Profile, Kind: string(c.Kind), Certificate: c.PEM(),
		Subject: c.Subject, SANs: sdk.SANs(c.SANs), NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		State: string(c.State), RevokedAt: c.RevokedAt, Reason: string(c.Reason), Key: c.Key,
		KeyVersion: c.KeyVersion, EscrowKey: c.EscrowKey, Pair: c.Pair, RenewedFrom: c.RenewedFrom, IssuedAt: c.IssuedAt,
		CSRIdentity: c.CSRIdentity,
	}
}

func certResult(c pki.Certificate, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return certOf(c), nil
}

// createCA creates a root, an intermediate signed by a mima CA, or an
// external CA whose CSR is signed elsewhere.
func (s *Server) createCA(c *call) (any, error) {
	var req sdk.CreateCARequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	cfg, err := caConfigOf(req.Config)
	if err != nil {
		return nil, err
	}
	ttl, err := durationOf("ttl", req.TTL)
	if err != nil {
		return nil, err
	}
	pathLen := pki.UnlimitedPathLen
	if req.MaxPathLen != nil {
		pathLen = *req.MaxPathLen
	}
	create := pki.CreateCARequest{Name: req.Name, Subject: subjectOf(req.Subject), TTL: ttl, MaxPathLen: pathLen, Config: cfg}
	var ca pki.CA
	switch req.Type {
	case "root":
		ca, err = s.pki.CreateRoot(c.ctx, c.tenant, create)
	case "intermediate":
		if req.Issuer == "" {
			return nil, fault.New(fault.InvalidArgument, "an intermediate CA needs an issuer: the mima CA that signs it")
		}
		ca, err = s.pki.CreateIntermediate(c.ctx, c.tenant, req.Issuer, create)
	case "external":
		ca, err = s.pki.CreateExternal(c.ctx, c.tenant, pki.CreateExternalRequest{Name: req.Name, Subject: create.Subject, Config: cfg})
	default:
		return nil, fault.New(fault.InvalidArgument, "type must be root, intermediate or external")
	}
	if err != nil {
		return nil, err
	}
	c.status = http.StatusCreated
	return caOf(ca), nil
}

type caList struct {
	CAs []sdk.CA `json:"cas"`
}

func (s *Server) listCAs(c *call) (any, error) {
	cas, err := s.pki.ListCAs(c.ctx, c.tenant)
	if err != nil {
		return nil, err
	}
	out := caList{CAs: make([]sdk.CA, len(cas))}
	for i, ca := range cas {
		out.CAs[i] = caOf(ca)
	}
	return out, nil
}

func (s *Server) getCA(c *call) (any, error) { return caResult(s.pki.GetCA(c.ctx, c.tenant, c.object)) }

func (s *Server) configureCA(c *call) (any, error) {
	var req sdk.CAConfig
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	cfg, err := caConfigOf(req)
	if err != nil {
		return nil, err
	}
	return caResult(s.pki.SetConfig(c.ctx, c.tenant, c.object, cfg))
}

type installRequest struct {
	Certificate string `json:"certificate"`
	Chain       string `json:"chain"`
}

func (s *Server) installCA(c *call) (any, error) {
	var req installRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return caResult(s.pki.InstallCertificate(c.ctx, c.tenant, c.object, pki.InstallRequest{Certificate: []byte(req.Certificate), Chain: []byte(req.Chain)}))
}

func (s *Server) importCAParams(c *call) (any, error) {
	p, err := s.pki.ImportCAParams(c.ctx, c.tenant, c.object)
	if err != nil {
		return nil, err
	}
	return sdk.ImportParams{Token: p.Token, PublicKey: p.PublicKey, Key: p.Key, Type: string(p.Type), ExpiresAt: p.ExpiresAt}, nil
}

type importCARequest struct {
	Token       string       `json:"token"`
	WrappedKey  []byte       `json:"wrapped_key"`
	Certificate string       `json:"certificate"`
	Chain       string       `json:"chain"`
	Config      sdk.CAConfig `json:"config"`
}

func (s *Server) importCA(c *call) (any, error) {
	var req importCARequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	cfg, err := caConfigOf(req.Config)
	if err != nil {
		return nil, err
	}
	ca, err := s.pki.ImportCA(c.ctx, c.tenant, c.object, pki.ImportCARequest{
		Token: req.Token, WrappedKey: req.WrappedKey, Certificate: []byte(req.Certificate), Chain: []byte(req.Chain), Config: cfg,
	})
	if err != nil {
		return nil, err
	}
	c.status = http.StatusCreated
	return caOf(ca), nil
}

func (s *Server) chain(c *call) (any, error) {
	pemChain, err := s.pki.Chain(c.ctx, c.tenant, c.object)
	if err != nil {
		return nil, err
	}
	return raw{contentType: "application/x-pem-file", body: []byte(pemChain)}, nil
}

// crl answers the CA's current CRL as DER (application/pkix-crl).
func (s *Server) crl(c *call) (any, error) {
	der, err := s.pki.CRL(c.ctx, c.tenant, c.object)
	if err != nil {
		return nil, err
	}
	return raw{contentType: "application/pkix-crl", body: der}, nil
}

func (s *Server) crlPEM(c *call) (any, error) {
	der, err := s.pki.CRL(c.ctx, c.tenant, c.object)
	if err != nil {
		return nil, err
	}
	return raw{contentType: "application/x-pem-file", body: []byte(pemOf("X509 CRL", der))}, nil
}

func profileOf(p pki.Profile) sdk.Profile {
	return sdk.Profile{
		Name: p.Name, Usage: string(p.Usage), KeyUsage: p.KeyUsage, ExtKeyUsage: p.ExtKeyUsage,
		MaxTTL: durationText(p.MaxTTL), DefaultTTL: durationText(p.DefaultTTL),
		AllowedCommonNames: p.AllowedCommonNames, AllowedDNSNames: p.AllowedDNSNames, AllowedEmails: p.AllowedEmails,
		AllowedURIs: p.AllowedURIs, AllowedIPs: p.AllowedIPs, CA: p.CA, MaxPathLen: p.MaxPathLen,
	}
}

func (s *Server) putProfile(c *call) (any, error) {
	var req sdk.Profile
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	maxTTL, err := durationOf("max_ttl", req.MaxTTL)
	if err != nil {
		return nil, err
	}
	defTTL, err := durationOf("default_ttl", req.DefaultTTL)
	if err != nil {
		return nil, err
	}
	p, err := s.pki.SetProfile(c.ctx, c.tenant, c.object, pki.Profile{
		Name: c.r.PathValue("profile"), Usage: pki.Usage(req.Usage), KeyUsage: req.KeyUsage, ExtKeyUsage: req.ExtKeyUsage,
		MaxTTL: maxTTL, DefaultTTL: defTTL, AllowedCommonNames: req.AllowedCommonNames, AllowedDNSNames: req.AllowedDNSNames,
		AllowedEmails: req.AllowedEmails, AllowedURIs: req.AllowedURIs, AllowedIPs: req.AllowedIPs, CA: req.CA, MaxPathLen: req.MaxPathLen,
	})
	if err != nil {
		return nil, err
	}
	return profileOf(p), nil
}

func (s *Server) getProfile(c *call) (any, error) {
	p, err := s.pki.GetProfile(c.ctx, c.tenant, c.object, c.r.PathValue("profile"))
	if err != nil {
		return nil, err
	}
	return profileOf(p), nil
}

type profileList struct {
	Profiles []sdk.Profile `json:"profiles"`
}

func (s *Server) listProfiles(c *call) (any, error) {
	ps, err := s.pki.ListProfiles(c.ctx, c.tenant, c.object)
	if err != nil {
		return nil, err
	}
	out := profileList{Profiles: make([]sdk.Profile, len(ps))}
	for i, p := range ps {
		out.Profiles[i] = profileOf(p)
	}
	return out, nil
}

func (s *Server) deleteProfile(c *call) (any, error) {
	if err := s.pki.DeleteProfile(c.ctx, c.tenant, c.object, c.r.PathValue("profile")); err != nil {
		return nil, err
	}
	c.status = http.StatusNoContent
	return nil, nil
}
