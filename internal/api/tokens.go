package api

import (
	"net/http"
	"time"

	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/fault"
)

type tokenRequest struct {
	Policies    []string `json:"policies"`
	TTL         string   `json:"ttl"`
	DisplayName string   `json:"display_name"`
}

// tokenInfo is a token as the API shows it: never its secret or hash.
type tokenInfo struct {
	Accessor    string    `json:"accessor"`
	Tenant      string    `json:"tenant,omitempty"`
	Root        bool      `json:"root,omitempty"`
	Policies    []string  `json:"policies"`
	DisplayName string    `json:"display_name,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	RevokedAt   time.Time `json:"revoked_at,omitzero"`
}

func infoOf(t *authn.Token) tokenInfo {
	return tokenInfo{
		Accessor: t.Accessor, Tenant: t.Tenant, Root: t.Root, Policies: t.Policies,
		DisplayName: t.DisplayName, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt,
	}
}

type tokenCreated struct {
	Token string `json:"token"`
	tokenInfo
}

func (s *Server) createToken(c *call) (any, error) {
	var req tokenRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	var ttl time.Duration
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil {
			return nil, fault.New(fault.InvalidArgument, "ttl must be a duration such as \"1h\" or \"30m\"")
		}
		ttl = d
	}
	issued, err := s.auth.CreateToken(c.ctx, c.token, c.tenant, authn.TokenRequest{Policies: req.Policies, TTL: ttl, DisplayName: req.DisplayName})
	if err != nil {
		return nil, err
	}
	c.object = issued.Info.Accessor
	c.status = http.StatusCreated
	return tokenCreated{Token: issued.Token, tokenInfo: infoOf(issued.Info)}, nil
}

func (s *Server) lookupSelf(c *call) (any, error) {
	c.object = c.token.Accessor
	c.tenant = c.token.Tenant
	return infoOf(c.token), nil
}

func (s *Server) lookupToken(c *call) (any, error) {
	t, err := s.auth.LookupToken(c.ctx, c.tenant, c.object)
	if err != nil {
		return nil, err
	}
	return infoOf(t), nil
}

func (s *Server) revokeToken(c *call) (any, error) {
	if err := s.auth.RevokeToken(c.ctx, c.tenant, c.object); err != nil {
		return nil, err
	}
	c.status = http.StatusNoContent
	return nil, nil
}
