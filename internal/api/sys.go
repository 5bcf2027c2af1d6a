package api

import (
	_ "embed"
	"net/http"

	"github.com/mimacrypto/mima/internal/core"
	"github.com/mimacrypto/mima/internal/fault"
)

//go:embed openapi.yaml
var openAPISpec []byte

// healthResponse is the body of GET /v1/sys/health.
type healthResponse struct {
	core.Status
	Version string `json:"version"`
}

// health answers 200 when unsealed and 503 otherwise, with the seal state.
func (s *Server) health(c *call) (any, error) {
	st, err := s.core.Status(c.ctx)
	if err != nil {
		return nil, err
	}
	if st.Sealed {
		c.status = http.StatusServiceUnavailable
	}
	return healthResponse{Status: st, Version: s.version}, nil
}

func (s *Server) openAPI(*call) (any, error) {
	return raw{contentType: "application/yaml", body: openAPISpec}, nil
}

type initRequest struct {
	Shares    int `json:"shares"`
	Threshold int `json:"threshold"`
}

func (s *Server) initialize(c *call) (any, error) {
	var req initRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return s.core.Init(c.ctx, req.Shares, req.Threshold)
}

type unsealRequest struct {
	Share string `json:"share"`
	Reset bool   `json:"reset"`
}

type unsealResponse struct {
	Sealed    bool `json:"sealed"`
	Progress  int  `json:"progress"`
	Threshold int  `json:"threshold"`
}

func (s *Server) unseal(c *call) (any, error) {
	var req unsealRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	var (
		st  core.Status
		err error
	)
	switch {
	case req.Reset:
		st, err = s.core.ResetUnseal(c.ctx)
	case req.Share == "":
		return nil, fault.New(fault.InvalidArgument, "share is required (or reset: true)")
	default:
		c.markSensitive("share", []byte(req.Share))
		st, err = s.core.Unseal(c.ctx, req.Share)
	}
	if err != nil {
		return nil, err
	}
	return unsealResponse{Sealed: st.Sealed, Progress: st.Progress, Threshold: st.Threshold}, nil
}

func (s *Server) seal(*call) (any, error) {
	s.core.Seal()
	return unsealResponse{Sealed: true}, nil
}

func (s *Server) rotate(c *call) (any, error) {
	return s.core.Rotate(c.ctx)
}

func (s *Server) keyStatus(*call) (any, error) {
	return s.core.KeyStatus()
}
