package sdk

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// CertsClient groups the calls on the issued certificates: lookup, listing, renewal and revocation; get it with [Client.Certs].
type CertsClient struct{ c *Client }

// Certs returns the client of the issued certificates: lookup, listing, renewal and revocation.
func (c *Client) Certs() CertsClient { return CertsClient{c} }

// Get describes a certificate.
func (cl CertsClient) Get(ctx context.Context, serial string) (Certificate, error) {
	var out Certificate
	return out, cl.c.do(ctx, http.MethodGet, certPath(serial), nil, &out)
}

// List searches the tenant's certificates, a page at a time.
func (cl CertsClient) List(ctx context.Context, q CertificatesQuery) (CertificateList, error) {
	v := url.Values{}
	for k, s := range map[string]string{"ca": q.CA, "subject": q.Subject, "san": q.SAN, "serial": q.Serial, "state": q.State, "after": q.After} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !q.ExpiresAfter.IsZero() {
		v.Set("expires_after", q.ExpiresAfter.Format(time.RFC3339))
	}
	if !q.ExpiresBefore.IsZero() {
		v.Set("expires_before", q.ExpiresBefore.Format(time.RFC3339))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	path := "/v1/certs"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var out CertificateList
	return out, cl.c.do(ctx, http.MethodGet, path, nil, &out)
}

// Renew issues a new certificate for the same subject and key, valid for
// ttl (0 for the profile's default).
func (cl CertsClient) Renew(ctx context.Context, serial string, ttl time.Duration) (Certificate, error) {
	return cl.c.certAction(ctx, serial, "renew", map[string]string{"ttl": wireDuration(ttl)})
}

// RevocationReason is an RFC 5280 CRL reason.
type RevocationReason string

// The revocation reasons; ReasonCertificateHold puts a certificate on hold.
const (
	ReasonUnspecified          RevocationReason = "unspecified"
	ReasonKeyCompromise        RevocationReason = "keyCompromise"
	ReasonCACompromise         RevocationReason = "cACompromise"
	ReasonAffiliationChanged   RevocationReason = "affiliationChanged"
	ReasonSuperseded           RevocationReason = "superseded"
	ReasonCessationOfOperation RevocationReason = "cessationOfOperation"
	ReasonCertificateHold      RevocationReason = "certificateHold"
	ReasonPrivilegeWithdrawn   RevocationReason = "privilegeWithdrawn"
	ReasonAACompromise         RevocationReason = "aACompromise"
)

// Revoke revokes a certificate by serial.
func (cl CertsClient) Revoke(ctx context.Context, serial string, reason RevocationReason) (Certificate, error) {
	return cl.c.certAction(ctx, serial, "revoke", map[string]string{"reason": string(reason)})
}

// Hold suspends a certificate (certificateHold).
func (cl CertsClient) Hold(ctx context.Context, serial string) (Certificate, error) {
	return cl.c.certAction(ctx, serial, "hold", nil)
}

// Release takes a certificate off hold.
func (cl CertsClient) Release(ctx context.Context, serial string) (Certificate, error) {
	return cl.c.certAction(ctx, serial, "release", nil)
}

// OfKey returns the certificate issued for a key held in mima.
func (cl CertsClient) OfKey(ctx context.Context, key string) (Certificate, error) {
	var out Certificate
	return out, cl.c.do(ctx, http.MethodGet, keyPath(key, "certificate"), nil, &out)
}
