package api

import (
	"context"
	"net/http"

	"github.com/mimacrypto/mima/sdk"
)

type tenantRequest struct {
	Name string `json:"name"`
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
	return sdk.TenantCreated{Name: t.Name, Token: issued.Token, Accessor: issued.Info.Accessor}, nil
}

type tenantList struct {
	Tenants []sdk.Tenant `json:"tenants"`
}

func (s *Server) listTenants(c *call) (any, error) {
	ts, err := s.auth.ListTenants(c.ctx)
	if err != nil {
		return nil, err
	}
	out := tenantList{Tenants: make([]sdk.Tenant, len(ts))}
	for i, t := range ts {
		out.Tenants[i] = sdk.Tenant{Name: t.Name, CreatedAt: t.CreatedAt}
	}
	return out, nil
}

// deleteTenant marks the tenant deleted, schedules its keys for deletion
// and revokes its tokens (authn.Service.DeleteTenant says what stays).
func (s *Server) deleteTenant(c *call) (any, error) {
	release := func(ctx context.Context, tenant string) error {
		_, err := s.keys.ScheduleTenantDeletion(ctx, tenant)
		return err
	}
	if err := s.auth.DeleteTenant(c.ctx, c.object, release); err != nil {
		return nil, err
	}
	c.status = http.StatusNoContent
	return nil, nil
}
