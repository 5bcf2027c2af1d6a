package api

import (
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/sdk"
)

// fpe answers POST /v1/keys/{name}/fpe (and, with decrypt,
// /fpe-decrypt): FF1 with SM4 under the key's FPE field key.
func (s *Server) fpe(decrypt bool) func(*call) (any, error) {
	return func(c *call) (any, error) {
		var req sdk.FPERequest
		if err := c.decode(&req); err != nil {
			return nil, err
		}
		c.markSensitive("input", []byte(req.Input))
		r, err := s.keys.FPE(c.ctx, c.tenant, c.object, kms.FPERequest{Alphabet: req.Alphabet, Input: req.Input, Tweak: []byte(req.Tweak), Version: req.Version}, decrypt)
		if err != nil {
			return nil, err
		}
		return sdk.FPEResult{Output: r.Output, KeyVersion: r.Version}, nil
	}
}
