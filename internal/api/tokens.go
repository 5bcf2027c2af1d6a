package api

import (
	"net/http"

	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/sdk"
)

type tokenRequest struct {
	Policies    []string `json:"policies"`
	TTL         string   `json:"ttl"`
	DisplayName string   `json:"display_name"`
}

// infoOf shows a token as the API does: never its secret or hash.
func infoOf(t *authn.Token) sdk.TokenInfo {
	return sdk.TokenInfo{
		Accessor: t.Accessor, Tenant: t.Tenant, Root: t.Root, Policies: t.Policies,
		DisplayName: t.DisplayName, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt,
		Parent: t.Parent, Depth: t.Depth, RenewUntil: t.RenewUntil, LastUsedAt: t.LastUsedAt,
	}
}

func (s *Server) createToken(c *call) (any, error) {
	var req tokenRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	ttl, err := durationOf("ttl", req.TTL)
	if err != nil {
		return nil, err
	}
	issued, err := s.auth.CreateToken(c.ctx, c.token, c.tenant, authn.TokenRequest{Policies: req.Policies, TTL: ttl, DisplayName: req.DisplayName})
	if err != nil {
		return nil, err
	}
	c.object = issued.Info.Accessor
	c.status = http.StatusCreated
	return sdk.TokenCreated{Token: issued.Token, TokenInfo: infoOf(issued.Info)}, nil
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

func (s *Server) listTokens(c *call) (any, error) {
	limit, err := c.limit()
	if err != nil {
		return nil, err
	}
	page, err := s.auth.ListTokens(c.ctx, c.tenant, c.r.URL.Query().Get("after"), limit)
	if err != nil {
		return nil, err
	}
	out := sdk.TokenList{Tokens: make([]sdk.TokenInfo, len(page.Tokens)), Next: page.Next}
	for i, t := range page.Tokens {
		out.Tokens[i] = infoOf(t)
	}
	return out, nil
}

func (s *Server) revokeToken(c *call) (any, error) {
	if err := s.auth.RevokeToken(c.ctx, c.tenant, c.object); err != nil {
		return nil, err
	}
	c.status = http.StatusNoContent
	return nil, nil
}
