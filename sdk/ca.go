package sdk

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"time"
)

// CAClient groups the calls on the certificate authorities: their setup, profiles and issuance; get it with [Client.CA].
type CAClient struct{ c *Client }

// CA returns the client of the certificate authorities: their setup, profiles and issuance.
func (c *Client) CA() CAClient { return CAClient{c} }

// Subject is an X.509 distinguished name.
type Subject struct {
	CommonName         string   `json:"common_name"`
	Organization       []string `json:"organization,omitempty"`
	OrganizationalUnit []string `json:"organizational_unit,omitempty"`
	Country            []string `json:"country,omitempty"`
	Province           []string `json:"province,omitempty"`
	Locality           []string `json:"locality,omitempty"`
}

// SANs are subject alternative names.
type SANs struct {
	DNS   []string `json:"dns,omitempty"`
	Email []string `json:"email,omitempty"`
	IP    []string `json:"ip,omitempty"`
	URI   []string `json:"uri,omitempty"`
}

// CAConfig is what a CA writes into the certificates it issues and how
// often it renews its CRL. Durations are Go durations ("24h").
type CAConfig struct {
	CRLURL       string `json:"crl_url,omitempty"`
	OCSPURL      string `json:"ocsp_url,omitempty"`
	CRLValidity  string `json:"crl_validity,omitempty"`
	OCSPValidity string `json:"ocsp_validity,omitempty"`
}

// CreateCARequest creates a CA. Type is root, intermediate (signed by the
// mima CA Issuer) or external (a CSR to be signed elsewhere, then
// installed). MaxPathLen nil means no path length constraint.
type CreateCARequest struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Issuer     string   `json:"issuer,omitempty"`
	Subject    Subject  `json:"subject"`
	TTL        string   `json:"ttl,omitempty"`
	MaxPathLen *int     `json:"max_path_len,omitempty"`
	Config     CAConfig `json:"config"`
}

// CA describes a certificate authority. Certificate and CSR are PEM.
type CA struct {
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	State       string    `json:"state"`
	Key         string    `json:"key"`
	Parent      string    `json:"parent,omitempty"`
	Subject     string    `json:"subject,omitempty"`
	Certificate string    `json:"certificate,omitempty"`
	CSR         string    `json:"csr,omitempty"`
	NotBefore   time.Time `json:"not_before,omitzero"`
	NotAfter    time.Time `json:"not_after,omitzero"`
	MaxPathLen  int       `json:"max_path_len"`
	Config      CAConfig  `json:"config"`
	CreatedAt   time.Time `json:"created_at"`
}

// Profile is an issuance template of a CA. MaxTTL and DefaultTTL are Go
// durations. Patterns are documented in docs/ca.md.
type Profile struct {
	Name               string   `json:"name"`
	Usage              string   `json:"usage"`
	KeyUsage           []string `json:"key_usage,omitempty"`
	ExtKeyUsage        []string `json:"ext_key_usage,omitempty"`
	MaxTTL             string   `json:"max_ttl,omitempty"`
	DefaultTTL         string   `json:"default_ttl,omitempty"`
	AllowedCommonNames []string `json:"allowed_common_names,omitempty"`
	AllowedDNSNames    []string `json:"allowed_dns_names,omitempty"`
	AllowedEmails      []string `json:"allowed_emails,omitempty"`
	AllowedURIs        []string `json:"allowed_uris,omitempty"`
	AllowedIPs         []string `json:"allowed_ips,omitempty"`
	CA                 bool     `json:"ca,omitempty"`
	MaxPathLen         int      `json:"max_path_len,omitempty"`
}

// Certificate is an issued certificate and its state. Certificate is PEM.
type Certificate struct {
	Serial      string    `json:"serial"`
	CA          string    `json:"ca"`
	Profile     string    `json:"profile,omitempty"`
	Kind        string    `json:"kind"`
	Certificate string    `json:"certificate"`
	Subject     string    `json:"subject"`
	SANs        SANs      `json:"sans"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	State       string    `json:"state"`
	RevokedAt   time.Time `json:"revoked_at,omitzero"`
	Reason      string    `json:"reason,omitempty"`
	Key         string    `json:"key,omitempty"`
	KeyVersion  int       `json:"key_version,omitempty"`
	EscrowKey   string    `json:"escrow_key,omitempty"`
	Pair        string    `json:"pair,omitempty"`
	RenewedFrom string    `json:"renewed_from,omitempty"`
	IssuedAt    time.Time `json:"issued_at"`
	// CSRIdentity, in the answer of SignCSR only, is the identity the
	// CSR's signature verified under: "default" (1234567812345678) or
	// "empty" (OpenSSL 3 without -sigopt distid).
	CSRIdentity string `json:"csr_identity,omitempty"`
}

// CertificateList is one page of certificates; Next continues it.
type CertificateList struct {
	Certificates []Certificate `json:"certificates"`
	Next         string        `json:"next,omitempty"`
}

// SignCSRRequest asks a CA to sign a PEM PKCS#10 request.
type SignCSRRequest struct {
	CSR     string `json:"csr"`
	Profile string `json:"profile,omitempty"`
	TTL     string `json:"ttl,omitempty"`
}

// IssueRequest certifies an sm2 key held in mima.
type IssueRequest struct {
	Key     string  `json:"key"`
	Profile string  `json:"profile,omitempty"`
	Subject Subject `json:"subject"`
	SANs    SANs    `json:"sans"`
	TTL     string  `json:"ttl,omitempty"`
}

// KeyPairRequest has the CA generate a key pair and certify it. Format is
// enveloped (wrapped to WrappingKey, a PEM SM2 public key), pkcs8
// (encrypted PKCS#8 under Password) or pkcs12.
type KeyPairRequest struct {
	Profile     string  `json:"profile,omitempty"`
	Subject     Subject `json:"subject"`
	SANs        SANs    `json:"sans"`
	TTL         string  `json:"ttl,omitempty"`
	Format      string  `json:"format"`
	WrappingKey string  `json:"wrapping_key,omitempty"`
	Password    string  `json:"password,omitempty"`
}

// KeyPair is a generated key pair's certificate and protected private key.
type KeyPair struct {
	Certificate
	Format     string `json:"format"`
	PrivateKey []byte `json:"private_key"`
}

// DualRequest asks for a signing certificate for the CSR's key and an
// encryption certificate for a key pair the CA generates and escrows.
type DualRequest struct {
	CSR               string `json:"csr"`
	Profile           string `json:"profile,omitempty"`
	EncryptionProfile string `json:"encryption_profile,omitempty"`
	TTL               string `json:"ttl,omitempty"`
}

// Dual is a dual certificate: EnvelopedKey is the encryption private key
// as a GB/T 35276 SM2 enveloped key to the signing key.
type Dual struct {
	Signing      Certificate `json:"signing"`
	Encryption   Certificate `json:"encryption"`
	EnvelopedKey []byte      `json:"enveloped_key"`
}

// CertificatesQuery filters ListCertificates.
type CertificatesQuery struct {
	CA, Subject, SAN, Serial, State string
	ExpiresAfter, ExpiresBefore     time.Time
	Limit                           int
	After                           string
}

func caPath(ca string, rest ...string) string { return objectPath("ca", ca, rest...) }

func certPath(serial string, rest ...string) string { return objectPath("certs", serial, rest...) }

// text fetches a non-JSON body.
func (c *Client) text(ctx context.Context, path string) (string, error) {
	resp, err := c.send(ctx, http.MethodGet, path, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// certAction posts to a certificate's action.
func (c *Client) certAction(ctx context.Context, serial, action string, body any) (Certificate, error) {
	return one[Certificate](ctx, c, certPath(serial, action), body)
}

// Create creates a root, intermediate or external CA.
func (cl CAClient) Create(ctx context.Context, req CreateCARequest) (CA, error) {
	return one[CA](ctx, cl.c, "/v1/ca", req)
}

// Get describes a CA.
func (cl CAClient) Get(ctx context.Context, ca string) (CA, error) {
	var out CA
	return out, cl.c.do(ctx, http.MethodGet, caPath(ca), nil, &out)
}

// List lists the tenant's CAs.
func (cl CAClient) List(ctx context.Context) ([]CA, error) {
	var out struct {
		CAs []CA `json:"cas"`
	}
	return out.CAs, cl.c.do(ctx, http.MethodGet, "/v1/ca", nil, &out)
}

// Configure sets a CA's CRL and OCSP settings.
func (cl CAClient) Configure(ctx context.Context, ca string, cfg CAConfig) (CA, error) {
	return one[CA](ctx, cl.c, caPath(ca, "config"), cfg)
}

// InstallCertificate installs the certificate (and chain, PEM) that an
// external CA signed for a CA created with type external.
func (cl CAClient) InstallCertificate(ctx context.Context, ca, certificate, chain string) (CA, error) {
	return one[CA](ctx, cl.c, caPath(ca, "install"), map[string]string{"certificate": certificate, "chain": chain})
}

// Chain returns the CA's certificate chain, PEM, up to its root.
func (cl CAClient) Chain(ctx context.Context, ca string) (string, error) {
	return cl.c.text(ctx, caPath(ca, "chain"))
}

// CRL returns the CA's current CRL, DER.
func (cl CAClient) CRL(ctx context.Context, ca string) ([]byte, error) {
	s, err := cl.c.text(ctx, caPath(ca, "crl"))
	return []byte(s), err
}

// PutProfile creates or replaces a profile of a CA.
func (cl CAClient) PutProfile(ctx context.Context, ca string, p Profile) (Profile, error) {
	var out Profile
	return out, cl.c.do(ctx, http.MethodPut, caPath(ca, "profiles", url.PathEscape(p.Name)), p, &out)
}

// ListProfiles lists a CA's profiles.
func (cl CAClient) ListProfiles(ctx context.Context, ca string) ([]Profile, error) {
	var out struct {
		Profiles []Profile `json:"profiles"`
	}
	return out.Profiles, cl.c.do(ctx, http.MethodGet, caPath(ca, "profiles"), nil, &out)
}

// SignCSR has a CA sign a certificate request.
func (cl CAClient) SignCSR(ctx context.Context, ca string, req SignCSRRequest) (Certificate, error) {
	return one[Certificate](ctx, cl.c, caPath(ca, "sign-csr"), req)
}

// Issue certifies a key held in mima.
func (cl CAClient) Issue(ctx context.Context, ca string, req IssueRequest) (Certificate, error) {
	return one[Certificate](ctx, cl.c, caPath(ca, "issue"), req)
}

// IssueKeyPair has the CA generate and certify a key pair.
func (cl CAClient) IssueKeyPair(ctx context.Context, ca string, req KeyPairRequest) (KeyPair, error) {
	return one[KeyPair](ctx, cl.c, caPath(ca, "issue-keypair"), req)
}

// IssueDual issues a dual (signing + encryption) certificate.
func (cl CAClient) IssueDual(ctx context.Context, ca string, req DualRequest) (Dual, error) {
	return one[Dual](ctx, cl.c, caPath(ca, "issue-dual"), req)
}

// Revoke revokes a certificate of ca for reason ("" for unspecified).
func (cl CAClient) Revoke(ctx context.Context, ca, serial string, reason RevocationReason) (Certificate, error) {
	return one[Certificate](ctx, cl.c, caPath(ca, "revoke"), map[string]string{"serial": serial, "reason": string(reason)})
}

// GetProfile reads one of a CA's profiles.
func (cl CAClient) GetProfile(ctx context.Context, ca, name string) (Profile, error) {
	var out Profile
	return out, cl.c.do(ctx, http.MethodGet, caPath(ca, "profiles", name), nil, &out)
}

// DeleteProfile deletes a profile; a built-in one gets its built-in rules
// back.
func (cl CAClient) DeleteProfile(ctx context.Context, ca, name string) error {
	return cl.c.do(ctx, http.MethodDelete, caPath(ca, "profiles", name), nil, nil)
}
