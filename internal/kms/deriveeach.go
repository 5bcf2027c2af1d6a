package kms

import (
	"context"
	"io"
)

// DeriveEach derives, under version (0 for the latest) of a derived sm4
// key, the key of each of ds as Derive does, and hands its raw 16 bytes to
// fn with the version used and its index. fn must not keep them: they are cleared when it
// returns. It serves protocols built on the per-device keys, such as the
// DCAS key ladder (internal/dcas), where wrapping each key as Derive does
// would be wasted work; it returns the version used.
func (s *Service) DeriveEach(ctx context.Context, tenant, key string, version int, ds []Derivation, fn func(v, i int, raw []byte) error) (int, error) {
	e, err := s.use(ctx, tenant, key, tSM4, "derivation")
	if err != nil {
		return 0, err
	}
	v, err := e.encryptVersion(key, version)
	if err != nil {
		return 0, err
	}
	for i := range ds {
		raw, err := s.derivedKey(ctx, e, key, v, &ds[i])
		if err != nil {
			return 0, err
		}
		err = fn(v, i, raw)
		clear(raw)
		if err != nil {
			return 0, err
		}
	}
	return v, nil
}

// Rand returns the service's random bit generator (the device's unless
// WithRand set another), for protocols built on its keys.
func (s *Service) Rand() io.Reader { return s.rand }
