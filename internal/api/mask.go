package api

import (
	"errors"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/sdk/fieldcrypt/mask"
)

// mask answers POST /v1/mask: the mask of a value by its kind's rule.
func (s *Server) mask(c *call) (any, error) {
	var req sdk.MaskRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	c.markSensitive("input", []byte(req.Input))
	out, err := mask.Apply(mask.Kind(req.Kind), req.Input)
	switch {
	case errors.Is(err, mask.ErrInput):
		return nil, fault.New(fault.InvalidArgument, "the input is not a valid %s", req.Kind)
	case err != nil:
		return nil, fault.New(fault.InvalidArgument, "unknown kind %q (phone, id-card, bank-card, name, address)", req.Kind)
	}
	return sdk.MaskResult{Output: out}, nil
}
