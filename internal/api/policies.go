package api

import (
	"net/http"

	"github.com/mimacrypto/mima/internal/authn"
)

type policyRequest struct {
	Rules []authn.Rule `json:"rules"`
}

func (s *Server) putPolicy(c *call) (any, error) {
	var req policyRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return s.auth.PutPolicy(c.ctx, c.tenant, authn.Policy{Name: c.object, Rules: req.Rules})
}

func (s *Server) getPolicy(c *call) (any, error) {
	return s.auth.Policy(c.ctx, c.tenant, c.object)
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
