package api

import (
	"encoding/hex"
	"net/http"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/linkage"
	"github.com/mimacrypto/mima/internal/v2x/scms"
	"github.com/mimacrypto/mima/sdk"
)

// The standalone linkage authority endpoints: a tenant here runs an LA
// for a V2X deployment of another mima cluster, whose RA and MA call it
// with a token of this tenant (JSON).

func (s *Server) createV2XLA(c *call) (any, error) {
	var req sdk.V2XLARequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	var id linkage.LaID
	if b, err := hex.DecodeString(req.ID); err != nil || len(b) != len(id) {
		return nil, fault.New(fault.InvalidArgument, "id must be 2 bytes in hex, such as \"0001\"")
	} else {
		copy(id[:], b)
	}
	period, err := durationOf("period", req.Period)
	if err != nil {
		return nil, err
	}
	la, err := s.v2x.CreateLA(c.ctx, c.tenant, scms.LAConfig{Name: req.Name, ID: id, PCA: req.PCA, Period: period, RetainPeriods: req.RetainPeriods})
	if err != nil {
		return nil, err
	}
	c.status = http.StatusCreated
	return laOf(la), nil
}

func (s *Server) getV2XLA(c *call) (any, error) {
	la, err := s.v2x.GetLA(c.ctx, c.tenant, c.object)
	if err != nil {
		return nil, err
	}
	return laOf(la), nil
}

func laOf(la scms.LAConfig) sdk.V2XLA {
	return sdk.V2XLA{Name: la.Name, ID: hex.EncodeToString(la.ID[:]), PCA: la.PCA, Period: la.Period.String(),
		RetainPeriods: la.RetainPeriods, Created: la.Created}
}

// v2xLACall answers a remote RA's or MA's call to a standalone LA of the
// caller's tenant: the JSON request of type Q, and f's answer.
func v2xLACall[Q any](s *Server, f func(c *call, la scms.LinkageAuthority, req Q) (any, error)) func(*call) (any, error) {
	return func(c *call) (any, error) {
		var req Q
		if err := c.decode(&req); err != nil {
			return nil, err
		}
		la, err := s.v2x.StandaloneLA(c.ctx, c.tenant, c.object)
		if err != nil {
			return nil, err
		}
		return f(c, la, req)
	}
}

func v2xPreLinkage(c *call, la scms.LinkageAuthority, req sdk.V2XPreLinkageRequest) (any, error) {
	r, err := la.PreLinkage(c.ctx, scms.PLVRequest{Now: req.Now, First: req.First, Periods: req.Periods, JMax: req.JMax})
	if err != nil {
		return nil, err
	}
	out := sdk.V2XPreLinkage{ELCI: r.ELCI, PLV: make([][][]byte, len(r.PLV))}
	for k, row := range r.PLV {
		for _, p := range row {
			b, err := coer.Marshal(&p)
			if err != nil {
				return nil, fault.Wrap(err, fault.Internal, "encoding a pre-linkage value")
			}
			out.PLV[k] = append(out.PLV[k], b)
		}
	}
	return out, nil
}

func v2xLinkageSeed(c *call, la scms.LinkageAuthority, req sdk.V2XSeedRequest) (any, error) {
	r, err := la.LinkageSeed(c.ctx, scms.SeedRequest{ELCI: req.ELCI, IRev: req.IRev})
	if err != nil {
		return nil, err
	}
	return sdk.V2XSeed{Seed: hex.EncodeToString(r.Seed[:]), At: r.At, End: r.End}, nil
}
