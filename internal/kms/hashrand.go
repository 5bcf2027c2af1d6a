package kms

import (
	"context"
	"io"

	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/fault"
)

// MaxRandom is the most bytes Random returns at once.
const MaxRandom = 1 << 20

// Hash returns the SM3 digest (GB/T 32905) of data.
func (s *Service) Hash(_ context.Context, tenant string, data []byte) ([]byte, error) {
	if err := s.keyless(tenant); err != nil {
		return nil, err
	}
	sum := sm3.Sum(data)
	return sum[:], nil
}

// HashBatch is Hash for many inputs.
func (s *Service) HashBatch(_ context.Context, tenant string, items [][]byte) ([]Result[[]byte], error) {
	if err := CheckBatch(len(items)); err != nil {
		return nil, err
	}
	if err := s.keyless(tenant); err != nil {
		return nil, err
	}
	out := make([]Result[[]byte], len(items))
	for i, it := range items {
		sum := sm3.Sum(it)
		out[i].Value = sum[:]
	}
	return out, nil
}

// Random returns n (1 to MaxRandom) bytes from the random bit generator
// (by default the device's GM/T 0105 DRBG).
func (s *Service) Random(_ context.Context, tenant string, n int) ([]byte, error) {
	if err := s.keyless(tenant); err != nil {
		return nil, err
	}
	if n < 1 || n > MaxRandom {
		return nil, fault.Invalid("ask for 1 to %d random bytes", MaxRandom)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return nil, deviceErr(err)
	}
	return b, nil
}

// keyless checks the tenant and the seal for operations that use no key.
func (s *Service) keyless(tenant string) error {
	if err := checkTenant(tenant); err != nil {
		return err
	}
	if _, err := s.store.Backend(); err != nil {
		return err
	}
	return nil
}
