package api

import (
	"net/http"

	"github.com/mimacrypto/mima/internal/core"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/sdk"
)

func generateRootOf(st core.GenerateRootStatus) sdk.GenerateRootStatus {
	return sdk.GenerateRootStatus{
		Started: st.Started, Nonce: st.Nonce, Progress: st.Progress, Required: st.Required,
		Complete: st.Complete, EncodedToken: st.EncodedToken, OTPLength: st.OTPLength,
	}
}

func (s *Server) generateRootStatus(c *call) (any, error) {
	st, err := s.core.GenerateRootStatus(c.ctx)
	if err != nil {
		return nil, err
	}
	return generateRootOf(st), nil
}

type generateRootStart struct {
	OTP []byte `json:"otp"`
	TTL string `json:"ttl"`
}

func (s *Server) startGenerateRoot(c *call) (any, error) {
	var req generateRootStart
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	c.markSensitive("otp", req.OTP)
	ttl, err := durationOf("ttl", req.TTL)
	if err != nil {
		return nil, err
	}
	st, err := s.core.StartGenerateRoot(c.ctx, req.OTP, ttl)
	if err != nil {
		return nil, err
	}
	return generateRootOf(st), nil
}

type generateRootUpdate struct {
	Nonce string `json:"nonce"`
	Share string `json:"share"`
}

func (s *Server) updateGenerateRoot(c *call) (any, error) {
	var req generateRootUpdate
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.Share == "" {
		return nil, fault.New(fault.InvalidArgument, "share is required")
	}
	c.markSensitive("share", []byte(req.Share))
	st, err := s.core.UpdateGenerateRoot(c.ctx, req.Nonce, req.Share)
	if err != nil {
		return nil, err
	}
	c.object = st.Accessor // the audit record names the new root token
	return generateRootOf(st), nil
}

func (s *Server) cancelGenerateRoot(c *call) (any, error) {
	s.core.CancelGenerateRoot()
	c.status = http.StatusNoContent
	return nil, nil
}

func (s *Server) revokeRootToken(c *call) (any, error) {
	c.object = c.token.Accessor
	if err := s.auth.RevokeRoot(c.ctx, c.token); err != nil {
		return nil, err
	}
	c.status = http.StatusNoContent
	return nil, nil
}

type tokenRenewRequest struct {
	Increment string `json:"increment"`
}

func (s *Server) renewSelf(c *call) (any, error) {
	var req tokenRenewRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	c.object, c.tenant = c.token.Accessor, c.token.Tenant
	inc, err := durationOf("increment", req.Increment)
	if err != nil {
		return nil, err
	}
	tok, err := s.auth.RenewToken(c.ctx, c.token, inc)
	if err != nil {
		return nil, err
	}
	return infoOf(tok), nil
}
