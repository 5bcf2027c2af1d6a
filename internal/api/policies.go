package api

import (
	"net/http"

	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/sdk"
)

type policyRequest struct {
	Rules []sdk.Rule `json:"rules"`
}

func (s *Server) putPolicy(c *call) (any, error) {
	var req policyRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	rules := make([]authn.Rule, len(req.Rules))
	for i, r := range req.Rules {
		rules[i] = authn.Rule(r)
	}
	p, err := s.auth.PutPolicy(c.ctx, c.token, c.tenant, authn.Policy{Name: c.object, Rules: rules})
	if err != nil {
		return nil, err
	}
	return policyOf(&p), nil
}

func (s *Server) getPolicy(c *call) (any, error) {
	p, err := s.auth.Policy(c.ctx, c.tenant, c.object)
	if err != nil {
		return nil, err
	}
	return policyOf(p), nil
}

func policyOf(p *authn.Policy) sdk.Policy {
	out := sdk.Policy{Name: p.Name, UpdatedAt: p.UpdatedAt, Rules: make([]sdk.Rule, len(p.Rules))}
	for i, r := range p.Rules {
		out.Rules[i] = sdk.Rule(r)
	}
	return out
}

type policyList struct {
	Policies []string `json:"policies"`
}

func (s *Server) listPolicies(c *call) (any, error) {
	names, err := s.auth.ListPolicies(c.ctx, c.tenant)
	if err != nil {
		return nil, err
	}
	return policyList{Policies: append([]string{authn.AdminPolicy}, names...)}, nil
}

func (s *Server) deletePolicy(c *call) (any, error) {
	if err := s.auth.DeletePolicy(c.ctx, c.tenant, c.object); err != nil {
		return nil, err
	}
	c.status = http.StatusNoContent
	return nil, nil
}
