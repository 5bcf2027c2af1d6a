package sdk

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"time"
)

// SignerOptions say who signs: a key held in mima and its certificate
// (default: the one a mima CA issued for the key), with the chain
// included on request and a signature timestamp from a TSA of the tenant.
type SignerOptions struct {
	Key          string    `json:"key"`
	Certificate  string    `json:"certificate,omitempty"`
	IncludeChain bool      `json:"include_chain,omitempty"`
	SigningTime  time.Time `json:"signing_time,omitzero"`
	TSA          string    `json:"tsa,omitempty"`
}

// CMSSignRequest signs content as CMS SignedData (GM/T 0010 OIDs, or RFC
// 5652 ones with RFC5652).
type CMSSignRequest struct {
	SignerOptions
	Content  []byte `json:"content"`
	Detached bool   `json:"detached,omitempty"`
	RFC5652  bool   `json:"rfc5652,omitempty"`
}

// CMSAddSignerRequest adds a parallel signature to CMS SignedData.
type CMSAddSignerRequest struct {
	SignerOptions
	CMS     []byte `json:"cms"`
	Content []byte `json:"content,omitempty"`
}

// CMSCounterSignRequest countersigns signer number Signer (from 0).
type CMSCounterSignRequest struct {
	SignerOptions
	CMS    []byte `json:"cms"`
	Signer int    `json:"signer"`
}

// CMSVerifyRequest verifies SignedData against trust anchors: mima CAs of
// the tenant by name and/or PEM roots.
type CMSVerifyRequest struct {
	CMS      []byte    `json:"cms"`
	Content  []byte    `json:"content,omitempty"`
	TrustCAs []string  `json:"trust_cas,omitempty"`
	TrustPEM string    `json:"trust_pem,omitempty"`
	CRLs     [][]byte  `json:"crls,omitempty"`
	UseOCSP  bool      `json:"use_ocsp,omitempty"`
	At       time.Time `json:"at,omitzero"`
}

// CertificateInfo names a certificate.
type CertificateInfo struct {
	Subject string `json:"subject"`
	Issuer  string `json:"issuer"`
	Serial  string `json:"serial"`
}

// Revocation is what the CRL or OCSP answer said.
type Revocation struct {
	Status    string    `json:"status"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	Reason    string    `json:"reason,omitempty"`
	Source    string    `json:"source,omitempty"`
}

// TimestampReport describes a verified (or not) timestamp token.
type TimestampReport struct {
	Valid         bool            `json:"valid"`
	Time          time.Time       `json:"time,omitzero"`
	Accuracy      string          `json:"accuracy,omitempty"`
	Serial        string          `json:"serial,omitempty"`
	Policy        string          `json:"policy,omitempty"`
	Nonce         string          `json:"nonce,omitempty"`
	HashAlgorithm string          `json:"hash_algorithm,omitempty"`
	TSA           CertificateInfo `json:"tsa"`
	Chain         string          `json:"chain,omitempty"`
	Revocation    Revocation      `json:"revocation"`
	Reasons       []string        `json:"reasons,omitempty"`
}

// SignerReport is the verdict on one signer.
type SignerReport struct {
	Valid             bool             `json:"valid"`
	Certificate       CertificateInfo  `json:"certificate"`
	SigningTime       time.Time        `json:"signing_time,omitzero"`
	Timestamp         *TimestampReport `json:"timestamp,omitempty"`
	EvaluatedAt       time.Time        `json:"evaluated_at"`
	Chain             string           `json:"chain"`
	Revocation        Revocation       `json:"revocation"`
	Reasons           []string         `json:"reasons,omitempty"`
	CounterSignatures []SignerReport   `json:"countersignatures,omitempty"`
}

// CMSVerifyReport is the verdict on a SignedData.
type CMSVerifyReport struct {
	Valid       bool           `json:"valid"`
	ContentType string         `json:"content_type"`
	Content     []byte         `json:"content,omitempty"`
	Signers     []SignerReport `json:"signers"`
}

// CMSEncryptRequest envelopes content to SM2 encryption certificates (PEM).
type CMSEncryptRequest struct {
	Recipients []string `json:"recipients"`
	Content    []byte   `json:"content"`
	RFC5652    bool     `json:"rfc5652,omitempty"`
}

// CMSDecryptRequest opens an envelope with a key held in mima.
type CMSDecryptRequest struct {
	CMS []byte `json:"cms"`
	Key string `json:"key"`
}

// TSARequest creates a timestamp authority certified by CA.
type TSARequest struct {
	Name       string  `json:"name"`
	CA         string  `json:"ca"`
	Policy     string  `json:"policy,omitempty"`
	Accuracy   string  `json:"accuracy,omitempty"`
	CertIDHash string  `json:"cert_id_hash,omitempty"`
	Subject    Subject `json:"subject"`
	TTL        string  `json:"ttl,omitempty"`
}

// TSA describes a timestamp authority.
type TSA struct {
	Name        string    `json:"name"`
	CA          string    `json:"ca"`
	Key         string    `json:"key"`
	Certificate string    `json:"certificate"`
	Policy      string    `json:"policy"`
	Accuracy    string    `json:"accuracy"`
	CertIDHash  string    `json:"cert_id_hash"`
	CreatedAt   time.Time `json:"created_at"`
}

// TimestampVerifyRequest verifies a timestamp token (or reply) over data
// or a digest.
type TimestampVerifyRequest struct {
	Token    []byte   `json:"token"`
	Data     []byte   `json:"data,omitempty"`
	Digest   []byte   `json:"digest,omitempty"`
	TrustCAs []string `json:"trust_cas,omitempty"`
	TrustPEM string   `json:"trust_pem,omitempty"`
	CRLs     [][]byte `json:"crls,omitempty"`
	UseOCSP  bool     `json:"use_ocsp,omitempty"`
}

// Challenge is a single-use login challenge: sign Nonce.
type Challenge struct {
	ID        string    `json:"id"`
	Nonce     []byte    `json:"nonce"`
	ExpiresAt time.Time `json:"expires_at"`
}

// LoginRequest answers a challenge with a signature over its nonce: an
// SM2 signature and the signing certificate (PEM), or an SM9 signature by
// the identity SM9 names (no certificate).
type LoginRequest struct {
	Tenant      string    `json:"tenant"`
	ChallengeID string    `json:"challenge_id"`
	Signature   []byte    `json:"signature"`
	Certificate string    `json:"certificate,omitempty"`
	SM9         *SM9Login `json:"sm9,omitempty"`
}

// SM9Login names the SM9 identity of a certificate-free login: its KGC
// and identity; HID, when set, must be 1 (a signature key).
type SM9Login struct {
	KGC string `json:"kgc"`
	ID  string `json:"id"`
	HID byte   `json:"hid,omitempty"`
}

// LoginResult is the token a login gives, with its identity: the
// certificate's, or SM9 for an SM9 login.
type LoginResult struct {
	TokenCreated
	Identity CertificateInfo `json:"identity"`
	SM9      *SM9Login       `json:"sm9,omitempty"`
	Rule     string          `json:"rule"`
}

// LoginRule maps certificates (by subject, e-mail or DNS name, a glob
// Pattern) of an optional CA, or (Match "sm9") the SM9 identities of a
// KGC, to policies and a token TTL.
type LoginRule struct {
	Name     string   `json:"name"`
	Match    string   `json:"match"`
	Pattern  string   `json:"pattern"`
	CA       string   `json:"ca,omitempty"`
	KGC      string   `json:"kgc,omitempty"`
	Policies []string `json:"policies"`
	TTL      string   `json:"ttl,omitempty"`
}

// cmsResult is the answer of the endpoints that make CMS.
type cmsResult struct {
	CMS []byte `json:"cms"`
}

func (c *Client) postCMS(ctx context.Context, path string, req any) ([]byte, error) {
	r, err := one[cmsResult](ctx, c, path, req)
	return r.CMS, err
}

// CMSSign signs content.
func (c *Client) CMSSign(ctx context.Context, req CMSSignRequest) ([]byte, error) {
	return c.postCMS(ctx, "/v1/cms/sign", req)
}

// CMSAddSigner adds a signer.
func (c *Client) CMSAddSigner(ctx context.Context, req CMSAddSignerRequest) ([]byte, error) {
	return c.postCMS(ctx, "/v1/cms/add-signer", req)
}

// CMSCounterSign countersigns a signer.
func (c *Client) CMSCounterSign(ctx context.Context, req CMSCounterSignRequest) ([]byte, error) {
	return c.postCMS(ctx, "/v1/cms/countersign", req)
}

// CMSVerify verifies SignedData.
func (c *Client) CMSVerify(ctx context.Context, req CMSVerifyRequest) (CMSVerifyReport, error) {
	return one[CMSVerifyReport](ctx, c, "/v1/cms/verify", req)
}

// CMSEncrypt envelopes content.
func (c *Client) CMSEncrypt(ctx context.Context, req CMSEncryptRequest) ([]byte, error) {
	return c.postCMS(ctx, "/v1/cms/encrypt", req)
}

// CMSDecrypt opens an envelope.
func (c *Client) CMSDecrypt(ctx context.Context, req CMSDecryptRequest) ([]byte, error) {
	r, err := one[struct {
		Content []byte `json:"content"`
	}](ctx, c, "/v1/cms/decrypt", req)
	return r.Content, err
}

// CreateTSA creates a timestamp authority.
func (c *Client) CreateTSA(ctx context.Context, req TSARequest) (TSA, error) {
	return one[TSA](ctx, c, "/v1/tsas", req)
}

// Timestamp sends a DER TimeStampReq to TSA name ("" for "default") and
// returns the DER TimeStampResp.
func (c *Client) Timestamp(ctx context.Context, name string, req []byte) ([]byte, error) {
	path := "/v1/tsa"
	if name != "" {
		path += "/" + url.PathEscape(name)
	}
	hr, err := c.newRequest(ctx, http.MethodPost, path, bytes.NewReader(req))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/timestamp-query")
	resp, err := c.doRequest(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// TSAChain returns a TSA's certificate chain, PEM.
func (c *Client) TSAChain(ctx context.Context, name string) (string, error) {
	return c.text(ctx, "/v1/tsa/"+url.PathEscape(name)+"/certificate")
}

// VerifyTimestamp verifies a timestamp token.
func (c *Client) VerifyTimestamp(ctx context.Context, req TimestampVerifyRequest) (TimestampReport, error) {
	return one[TimestampReport](ctx, c, "/v1/tsa/verify", req)
}

// LoginChallenge asks tenant for a login challenge (no token needed).
func (c *Client) LoginChallenge(ctx context.Context, tenant string) (Challenge, error) {
	return one[Challenge](ctx, c, "/v1/auth/challenge", map[string]string{"tenant": tenant})
}

// Login answers a challenge and returns a token.
func (c *Client) Login(ctx context.Context, req LoginRequest) (LoginResult, error) {
	return one[LoginResult](ctx, c, "/v1/auth/login", req)
}

// PutLoginRule creates or replaces a login rule.
func (c *Client) PutLoginRule(ctx context.Context, r LoginRule) (LoginRule, error) {
	var out LoginRule
	return out, c.do(ctx, http.MethodPut, "/v1/auth/rules/"+url.PathEscape(r.Name), r, &out)
}

// ListTSAs lists the tenant's timestamp authorities.
func (c *Client) ListTSAs(ctx context.Context) ([]TSA, error) {
	var r struct {
		TSAs []TSA `json:"tsas"`
	}
	return r.TSAs, c.do(ctx, http.MethodGet, "/v1/tsas", nil, &r)
}

// GetLoginRule reads a login rule.
func (c *Client) GetLoginRule(ctx context.Context, name string) (LoginRule, error) {
	var r LoginRule
	return r, c.do(ctx, http.MethodGet, "/v1/auth/rules/"+url.PathEscape(name), nil, &r)
}

// ListLoginRules lists the tenant's login rules.
func (c *Client) ListLoginRules(ctx context.Context) ([]LoginRule, error) {
	var r struct {
		Rules []LoginRule `json:"rules"`
	}
	return r.Rules, c.do(ctx, http.MethodGet, "/v1/auth/rules", nil, &r)
}

// DeleteLoginRule deletes a login rule and revokes its owner token, with
// every token logged in through it.
func (c *Client) DeleteLoginRule(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/auth/rules/"+url.PathEscape(name), nil, nil)
}
