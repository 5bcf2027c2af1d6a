package sdk

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// Tenant is an isolated namespace of keys, policies and tokens.
type Tenant struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// TenantCreated is a new tenant with its admin token, shown once.
type TenantCreated struct {
	Name     string `json:"name"`
	Token    string `json:"token"`
	Accessor string `json:"accessor"`
}

// CreateTenant creates a tenant (root token).
func (c *Client) CreateTenant(ctx context.Context, name string) (TenantCreated, error) {
	var t TenantCreated
	return t, c.do(ctx, http.MethodPost, "/v1/tenants", map[string]string{"name": name}, &t)
}

// ListTenants lists tenants (root token).
func (c *Client) ListTenants(ctx context.Context) ([]Tenant, error) {
	var r struct {
		Tenants []Tenant `json:"tenants"`
	}
	return r.Tenants, c.do(ctx, http.MethodGet, "/v1/tenants", nil, &r)
}

// TokenInfo describes a token; it never includes the secret.
type TokenInfo struct {
	Accessor    string    `json:"accessor"`
	Tenant      string    `json:"tenant,omitempty"`
	Root        bool      `json:"root,omitempty"`
	Policies    []string  `json:"policies"`
	DisplayName string    `json:"display_name,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	RevokedAt   time.Time `json:"revoked_at,omitzero"`
	// Parent is the accessor of the token that created this one; the root
	// token and tenant admin tokens have none.
	Parent string `json:"parent,omitempty"`
	// Depth is 0 for a token without a parent, one more than its
	// parent's otherwise.
	Depth int `json:"depth"`
	// RenewUntil is set on renewable tokens: the latest expiry renewal
	// can reach.
	RenewUntil time.Time `json:"renew_until,omitzero"`
}

// TokenList is one page of tokens; Next is the cursor of the next page.
type TokenList struct {
	Tokens []TokenInfo `json:"tokens"`
	Next   string      `json:"next,omitempty"`
}

// TokenCreated is a new token, shown once, with its record.
type TokenCreated struct {
	Token string `json:"token"`
	TokenInfo
}

// TokenRequest describes a token to create. TTL is a Go duration ("1h");
// empty means the server's default (24h).
type TokenRequest struct {
	Policies    []string `json:"policies"`
	TTL         string   `json:"ttl,omitempty"`
	DisplayName string   `json:"display_name,omitempty"`
}

// CreateToken creates a token in the caller's tenant.
func (c *Client) CreateToken(ctx context.Context, req TokenRequest) (TokenCreated, error) {
	var t TokenCreated
	return t, c.do(ctx, http.MethodPost, "/v1/tokens", req, &t)
}

// LookupSelf returns the calling token's record.
func (c *Client) LookupSelf(ctx context.Context) (TokenInfo, error) {
	var t TokenInfo
	return t, c.do(ctx, http.MethodGet, "/v1/tokens/self", nil, &t)
}

// LookupToken returns a token of the tenant by accessor.
func (c *Client) LookupToken(ctx context.Context, accessor string) (TokenInfo, error) {
	var t TokenInfo
	return t, c.do(ctx, http.MethodGet, "/v1/tokens/"+url.PathEscape(accessor), nil, &t)
}

// ListTokens lists one page of the tenant's tokens, live, expired and
// revoked (until the jobs delete them 30 days after they ended), after the
// accessor after ("" for the first page), at most limit (0: the server's
// default of 100).
func (c *Client) ListTokens(ctx context.Context, after string, limit int) (TokenList, error) {
	var l TokenList
	return l, c.do(ctx, http.MethodGet, pagePath("/v1/tokens", after, limit), nil, &l)
}

// AllTokens yields every token of the tenant, fetching a page at a time;
// it yields a failed page's error and stops.
func (c *Client) AllTokens(ctx context.Context) iter.Seq2[TokenInfo, error] {
	return func(yield func(TokenInfo, error) bool) {
		after := ""
		for {
			page, err := c.ListTokens(ctx, after, 0)
			if err != nil {
				yield(TokenInfo{}, err)
				return
			}
			for _, t := range page.Tokens {
				if !yield(t, nil) {
					return
				}
			}
			if page.Next == "" {
				return
			}
			after = page.Next
		}
	}
}

// RevokeToken revokes a token and every token it created.
func (c *Client) RevokeToken(ctx context.Context, accessor string) error {
	return c.do(ctx, http.MethodDelete, "/v1/tokens/"+url.PathEscape(accessor), nil, nil)
}

// Rule allows operations on objects; both are glob patterns.
type Rule struct {
	Operations []string `json:"operations"`
	Objects    []string `json:"objects"`
}

// Policy is a named set of rules in a tenant.
type Policy struct {
	Name      string    `json:"name"`
	Rules     []Rule    `json:"rules"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PutPolicy creates or replaces a policy.
func (c *Client) PutPolicy(ctx context.Context, name string, rules []Rule) (Policy, error) {
	var p Policy
	return p, c.do(ctx, http.MethodPut, "/v1/policies/"+url.PathEscape(name), map[string][]Rule{"rules": rules}, &p)
}

// GetPolicy reads a policy.
func (c *Client) GetPolicy(ctx context.Context, name string) (Policy, error) {
	var p Policy
	return p, c.do(ctx, http.MethodGet, "/v1/policies/"+url.PathEscape(name), nil, &p)
}

// ListPolicies lists the tenant's policy names, "admin" included.
func (c *Client) ListPolicies(ctx context.Context) ([]string, error) {
	var r struct {
		Policies []string `json:"policies"`
	}
	return r.Policies, c.do(ctx, http.MethodGet, "/v1/policies", nil, &r)
}

// DeletePolicy deletes a policy.
func (c *Client) DeletePolicy(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/policies/"+url.PathEscape(name), nil, nil)
}

// Quota is a tenant's virtual device: 0 is no limit.
type Quota struct {
	// OpsPerSec bounds the requests a second that the tenant's tokens
	// make to tenant routes (burst: one second's worth).
	OpsPerSec int64 `json:"ops_per_sec"`
	// MaxKeys bounds the keys the tenant holds, pending deletion included.
	MaxKeys int64 `json:"max_keys"`
}

// TenantQuota returns a tenant's quota (root token).
func (c *Client) TenantQuota(ctx context.Context, tenant string) (Quota, error) {
	var q Quota
	return q, c.do(ctx, http.MethodGet, "/v1/tenants/"+url.PathEscape(tenant)+"/quota", nil, &q)
}

// SetTenantQuota replaces a tenant's quota (root token).
func (c *Client) SetTenantQuota(ctx context.Context, tenant string, q Quota) (Quota, error) {
	var out Quota
	return out, c.do(ctx, http.MethodPut, "/v1/tenants/"+url.PathEscape(tenant)+"/quota", q, &out)
}
