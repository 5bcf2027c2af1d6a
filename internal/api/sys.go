package api

import (
	_ "embed"
	"net/http"

	"github.com/mimacrypto/mima/internal/barrier"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/sealstate"
	"github.com/mimacrypto/mima/sdk"
)

//go:embed openapi.yaml
var openAPISpec []byte

// Deployment is how a node is deployed, for an assessor (mima
// compliance) and operators: its seal type (sdk.SealShares, ...) and its
// listeners. It holds no secret, but it maps the deployment, so only
// callers with a valid token see it (GET /v1/sys/deployment), not the
// public health check.
type Deployment struct {
	Seal      string
	Listeners []sdk.Listener
}

// WithDeployment makes /v1/sys/deployment report d.
func WithDeployment(d Deployment) Option { return func(s *Server) { s.deployment = d } }

// health answers 200 when unsealed and 503 otherwise, with the seal state:
// what load balancers and unseal tooling need, nothing about how the node
// is deployed.
func (s *Server) health(c *call) (any, error) {
	st, err := s.core.Status(c.ctx)
	if err != nil {
		return nil, err
	}
	if st.Sealed {
		c.status = http.StatusServiceUnavailable
	}
	return sdk.Health{
		Initialized: st.Initialized, Sealed: st.Sealed, Threshold: st.Threshold, Shares: st.Shares,
		Progress: st.Progress, ClusterID: st.ClusterID, Unattended: st.Unattended, Version: s.version,
		Leader: s.leader != nil && s.leader(),
	}, nil
}

// deploymentInfo tells a caller with a valid token how the node is deployed.
func (s *Server) deploymentInfo(*call) (any, error) {
	return sdk.Deployment{SealType: s.deployment.Seal, Listeners: s.deployment.Listeners}, nil
}

func (s *Server) openAPI(*call) (any, error) {
	return raw{contentType: "application/yaml", body: openAPISpec}, nil
}

type initRequest struct {
	Shares       int    `json:"shares"`
	Threshold    int    `json:"threshold"`
	RootTokenTTL string `json:"root_token_ttl"`
}

func (s *Server) initialize(c *call) (any, error) {
	var req initRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	ttl, err := durationOf("root_token_ttl", req.RootTokenTTL)
	if err != nil {
		return nil, err
	}
	res, err := s.core.Init(c.ctx, req.Shares, req.Threshold, sealstate.RootTokenTTL(ttl))
	if err != nil {
		return nil, err
	}
	return sdk.InitResult{Shares: res.Shares, RootToken: res.RootToken}, nil
}

type unsealRequest struct {
	Share string `json:"share"`
	Reset bool   `json:"reset"`
}

func (s *Server) unseal(c *call) (any, error) {
	var req unsealRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	var (
		st  sealstate.Status
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
	return sdk.SealStatus{Sealed: st.Sealed, Progress: st.Progress, Threshold: st.Threshold}, nil
}

func (s *Server) seal(*call) (any, error) {
	s.core.Seal()
	return sdk.SealStatus{Sealed: true}, nil
}

func (s *Server) rotate(c *call) (any, error) {
	return keyStatusOf(s.core.Rotate(c.ctx))
}

func (s *Server) keyStatus(*call) (any, error) {
	return keyStatusOf(s.core.KeyStatus())
}

func keyStatusOf(st barrier.Status, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return sdk.KeyStatus{Term: st.Term, Terms: st.Terms, InstallTime: st.InstallTime}, nil
}
