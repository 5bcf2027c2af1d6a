package api

import (
	"github.com/mimacrypto/mima/internal/dcas"
	"github.com/mimacrypto/mima/sdk"
)

// DCAS routes: the vendor root key is the key in the path; chips and
// channels are values of the body, not objects.

func (s *Server) dcasEMM(c *call) (any, error) {
	var b sdk.DCASEMMRequest
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	r, err := s.dcas.EMMs(c.ctx, c.tenant, c.object, dcas.EMMRequest{Chips: b.Chips, Period: b.Period, Version: b.Version})
	if err != nil {
		return nil, err
	}
	return sdk.DCASEMMs{EMMs: r.EMMs, KeyVersion: r.Version}, nil
}

func (s *Server) dcasECM(c *call) (any, error) {
	var b sdk.DCASECMRequest
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	c.markSensitive("cw", b.CW)
	r, err := s.dcas.ECM(c.ctx, c.tenant, c.object, dcas.ECMRequest{Channel: b.Channel, Period: b.Period, CW: b.CW, Version: b.Version})
	if err != nil {
		return nil, err
	}
	return sdk.DCASECM{ECM: r.ECM, CW: r.CW, KeyVersion: r.Version}, nil
}

func (s *Server) dcasInject(c *call) (any, error) {
	var b sdk.DCASInjectRequest
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	r, err := s.dcas.Inject(c.ctx, c.tenant, c.object, dcas.InjectRequest{Chips: b.Chips, StationKey: b.StationKey, Version: b.Version})
	if err != nil {
		return nil, err
	}
	return sdk.DCASInjectBlock{Block: r.Block, KeyVersion: r.Version}, nil
}

func (s *Server) dcasImageKey(c *call) (any, error) {
	var b sdk.DCASImageKeyRequest
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	r, err := s.dcas.ImageKey(c.ctx, c.tenant, c.object, b.Version)
	if err != nil {
		return nil, err
	}
	return sdk.DCASImageKey{Key: r.Key, Wrapped: r.Wrapped, KeyVersion: r.Version}, nil
}
