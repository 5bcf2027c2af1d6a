package api

import (
	"strconv"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/quota"
	"github.com/mimacrypto/mima/sdk"
)

// WithQuotas enforces the tenants' quotas and serves
// /v1/tenants/{name}/quota; without it no tenant has a quota.
func WithQuotas(q *quota.Service) Option { return func(s *Server) { s.quotas = q } }

// limitTenant refuses a tenant's request past its ops_per_sec quota with
// quota_exceeded and a Retry-After header in whole seconds. The root
// token, which may act in any tenant, is not held by it.
func (s *Server) limitTenant(c *call) error {
	if s.quotas == nil || c.token.Root {
		return nil
	}
	wait, err := s.quotas.Allow(c.ctx, c.tenant)
	if wait > 0 {
		secs := max(1, int64((wait+time.Second-1)/time.Second))
		c.w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	return err
}

// quotaService returns the quota service, or an error naming the gap.
func (s *Server) quotaService() (*quota.Service, error) {
	if s.quotas == nil {
		return nil, fault.New(fault.Internal, "this server keeps no quotas")
	}
	return s.quotas, nil
}

func (s *Server) getQuota(c *call) (any, error) {
	qs, err := s.quotaService()
	if err != nil {
		return nil, err
	}
	if _, err := s.auth.Tenant(c.ctx, c.object); err != nil {
		return nil, err
	}
	q, err := qs.Get(c.ctx, c.object)
	if err != nil {
		return nil, err
	}
	return sdk.Quota{OpsPerSec: q.OpsPerSec, MaxKeys: q.MaxKeys}, nil
}

func (s *Server) putQuota(c *call) (any, error) {
	var req sdk.Quota
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	qs, err := s.quotaService()
	if err != nil {
		return nil, err
	}
	if _, err := s.auth.Tenant(c.ctx, c.object); err != nil {
		return nil, err
	}
	if err := qs.Set(c.ctx, c.object, quota.Quota{OpsPerSec: req.OpsPerSec, MaxKeys: req.MaxKeys}); err != nil {
		return nil, err
	}
	return req, nil
}
