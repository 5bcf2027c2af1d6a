package api

import (
	"net/http"

	"github.com/mimacrypto/mima/internal/authn"
)

type tenantRequest struct {
	Name string `json:"name"`
}

type tenantCreated struct {
	Name     string `json:"name"`
	Token    string `json:"token"`
	Accessor string `json:"accessor"`
}

func (s *Server) createTenant(c *call) (any, error) {
	var req tenantRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	c.object = req.Name
	t, issued, err := s.auth.CreateTenant(c.ctx, req.Name)
	if err != nil {
		return nil, err
	}
	c.status = http.StatusCreated
	return tenantCreated{Name: t.Name, Token: issued.Token, Accessor: issued.Info.Accessor}, nil
}

type tenantList struct {
	Tenants []authn.Tenant `json:"tenants"`
}

func (s *Server) listTenants(c *call) (any, error) {
	ts, err := s.auth.ListTenants(c.ctx)
	if err != nil {
		return nil, err
	}
	return tenantList{Tenants: ts}, nil
}
