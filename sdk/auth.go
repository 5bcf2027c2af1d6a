package sdk

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// AuthClient groups the calls on access: tenants, tokens, policies, login rules and quotas; get it with [Client.Auth].
type AuthClient struct{ c *Client }

// Auth returns the client of access: tenants, tokens, policies, login rules and quotas.
func (c *Client) Auth() AuthClient { return AuthClient{c} }

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
	// LastUsedAt is when the token last authenticated, to within an hour;
	// zero if never (or not since last use was recorded).
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
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

// Quota is a tenant's virtual device: 0 is no limit.
type Quota struct {
	// OpsPerSec bounds the requests a second that the tenant's tokens
	// make to tenant routes (burst: one second's worth).
	OpsPerSec int64 `json:"ops_per_sec"`
	// MaxKeys bounds the keys the tenant holds, pending deletion included.
	MaxKeys int64 `json:"max_keys"`
}

// LoginChallenge asks tenant for a login challenge (no token needed).
func (cl AuthClient) LoginChallenge(ctx context.Context, tenant string) (Challenge, error) {
	return one[Challenge](ctx, cl.c, "/v1/auth/challenge", map[string]string{"tenant": tenant})
}

// Login answers a challenge and returns a token.
func (cl AuthClient) Login(ctx context.Context, req LoginRequest) (LoginResult, error) {
	return one[LoginResult](ctx, cl.c, "/v1/auth/login", req)
}

// PutLoginRule creates or replaces a login rule.
func (cl AuthClient) PutLoginRule(ctx context.Context, r LoginRule) (LoginRule, error) {
	var out LoginRule
	return out, cl.c.do(ctx, http.MethodPut, "/v1/auth/rules/"+url.PathEscape(r.Name), r, &out)
}

// GetLoginRule reads a login rule.
func (cl AuthClient) GetLoginRule(ctx context.Context, name string) (LoginRule, error) {
	var r LoginRule
	return r, cl.c.do(ctx, http.MethodGet, "/v1/auth/rules/"+url.PathEscape(name), nil, &r)
}

// ListLoginRules lists the tenant's login rules.
func (cl AuthClient) ListLoginRules(ctx context.Context) ([]LoginRule, error) {
	var r struct {
		Rules []LoginRule `json:"rules"`
	}
	return r.Rules, cl.c.do(ctx, http.MethodGet, "/v1/auth/rules", nil, &r)
}

// DeleteLoginRule deletes a login rule and revokes its owner token, with
// every token logged in through it.
func (cl AuthClient) DeleteLoginRule(ctx context.Context, name string) error {
	return cl.c.do(ctx, http.MethodDelete, "/v1/auth/rules/"+url.PathEscape(name), nil, nil)
}

// RenewSelf extends the calling token's life by increment (0 for the
// token's own TTL), up to its maximum. Only tenant admin tokens are
// renewable.
func (cl AuthClient) RenewSelf(ctx context.Context, increment time.Duration) (TokenInfo, error) {
	var t TokenInfo
	return t, cl.c.do(ctx, http.MethodPost, "/v1/tokens/self/renew", map[string]string{"increment": wireDuration(increment)}, &t)
}

// DeleteTenant deletes a tenant (root token): its keys are scheduled for
// deletion and its tokens revoked.
func (cl AuthClient) DeleteTenant(ctx context.Context, name string) error {
	return cl.c.do(ctx, http.MethodDelete, "/v1/tenants/"+url.PathEscape(name), nil, nil)
}

// CreateTenant creates a tenant (root token).
func (cl AuthClient) CreateTenant(ctx context.Context, name string) (TenantCreated, error) {
	var t TenantCreated
	return t, cl.c.do(ctx, http.MethodPost, "/v1/tenants", map[string]string{"name": name}, &t)
}

// ListTenants lists tenants (root token).
func (cl AuthClient) ListTenants(ctx context.Context) ([]Tenant, error) {
	var r struct {
		Tenants []Tenant `json:"tenants"`
	}
	return r.Tenants, cl.c.do(ctx, http.MethodGet, "/v1/tenants", nil, &r)
}

// CreateToken creates a token in the caller's tenant.
func (cl AuthClient) CreateToken(ctx context.Context, req TokenRequest) (TokenCreated, error) {
	var t TokenCreated
	return t, cl.c.do(ctx, http.MethodPost, "/v1/tokens", req, &t)
}

// LookupSelf returns the calling token's record.
func (cl AuthClient) LookupSelf(ctx context.Context) (TokenInfo, error) {
	var t TokenInfo
	return t, cl.c.do(ctx, http.MethodGet, "/v1/tokens/self", nil, &t)
}

// LookupToken returns a token of the tenant by accessor.
func (cl AuthClient) LookupToken(ctx context.Context, accessor string) (TokenInfo, error) {
	var t TokenInfo
	return t, cl.c.do(ctx, http.MethodGet, "/v1/tokens/"+url.PathEscape(accessor), nil, &t)
}

// ListTokens lists one page of the tenant's tokens, live, expired and
// revoked (until the jobs delete them 30 days after they ended), after the
// accessor after ("" for the first page), at most limit (0: the server's
// default of 100).
func (cl AuthClient) ListTokens(ctx context.Context, after string, limit int) (TokenList, error) {
	var l TokenList
	return l, cl.c.do(ctx, http.MethodGet, pagePath("/v1/tokens", after, limit), nil, &l)
}

// RevokeToken revokes a token and every token it created.
func (cl AuthClient) RevokeToken(ctx context.Context, accessor string) error {
	return cl.c.do(ctx, http.MethodDelete, "/v1/tokens/"+url.PathEscape(accessor), nil, nil)
}

// PutPolicy creates or replaces a policy.
func (cl AuthClient) PutPolicy(ctx context.Context, name string, rules []Rule) (Policy, error) {
	var p Policy
	return p, cl.c.do(ctx, http.MethodPut, "/v1/policies/"+url.PathEscape(name), map[string][]Rule{"rules": rules}, &p)
}

// GetPolicy reads a policy.
func (cl AuthClient) GetPolicy(ctx context.Context, name string) (Policy, error) {
	var p Policy
	return p, cl.c.do(ctx, http.MethodGet, "/v1/policies/"+url.PathEscape(name), nil, &p)
}

// ListPolicies lists the tenant's policy names, "admin" included.
func (cl AuthClient) ListPolicies(ctx context.Context) ([]string, error) {
	var r struct {
		Policies []string `json:"policies"`
	}
	return r.Policies, cl.c.do(ctx, http.MethodGet, "/v1/policies", nil, &r)
}

// DeletePolicy deletes a policy.
func (cl AuthClient) DeletePolicy(ctx context.Context, name string) error {
	return cl.c.do(ctx, http.MethodDelete, "/v1/policies/"+url.PathEscape(name), nil, nil)
}

// TenantQuota returns a tenant's quota (root token).
func (cl AuthClient) TenantQuota(ctx context.Context, tenant string) (Quota, error) {
	var q Quota
	return q, cl.c.do(ctx, http.MethodGet, "/v1/tenants/"+url.PathEscape(tenant)+"/quota", nil, &q)
}

// SetTenantQuota replaces a tenant's quota (root token).
func (cl AuthClient) SetTenantQuota(ctx context.Context, tenant string, q Quota) (Quota, error) {
	var out Quota
	return out, cl.c.do(ctx, http.MethodPut, "/v1/tenants/"+url.PathEscape(tenant)+"/quota", q, &out)
}
