package kms

import (
	"context"
	"crypto/subtle"

	"github.com/mimacrypto/mima/internal/device"
)

// MACRequest is one MAC computation: HMAC-SM3 (32 bytes) with an hmac-sm3
// key, SM4-CMAC (16 bytes) with an sm4 key.
type MACRequest struct {
	Input []byte
	// Version to compute with; 0 for the latest.
	Version int
	// Derivation, for derived sm4 keys, uses the derived key.
	Derivation *Derivation
}

// MACResult is a MAC and the key version that computed it.
type MACResult struct {
	MAC     []byte `json:"mac"`
	Version int    `json:"version"`
}

// VerifyMACRequest is one MAC check.
type VerifyMACRequest struct {
	Input      []byte
	MAC        []byte
	Version    int // 0 for the latest
	Derivation *Derivation
}

// MAC computes a MAC.
func (s *Service) MAC(ctx context.Context, tenant, key string, req MACRequest) (MACResult, error) {
	e, err := s.use(ctx, tenant, key, tSM4|tHMAC, "MACs")
	if err != nil {
		return MACResult{}, err
	}
	return s.mac(ctx, e, key, req)
}

// HMAC is MAC restricted to hmac-sm3 keys, for protocols whose MAC is
// HMAC-SM3 by definition (TSIG): another key type is key_type_mismatch
// rather than a MAC of another algorithm.
func (s *Service) HMAC(ctx context.Context, tenant, key string, req MACRequest) (MACResult, error) {
	e, err := s.use(ctx, tenant, key, tHMAC, "HMAC-SM3 MACs")
	if err != nil {
		return MACResult{}, err
	}
	return s.mac(ctx, e, key, req)
}

// MACBatch is MAC for many items under one key.
func (s *Service) MACBatch(ctx context.Context, tenant, key string, items []MACRequest) ([]Result[MACResult], error) {
	return runBatch(ctx, s, tenant, key, tSM4|tHMAC, "MACs", items, s.mac)
}

// VerifyMAC reports, comparing in constant time, whether mac is the MAC of
// the input.
func (s *Service) VerifyMAC(ctx context.Context, tenant, key string, req VerifyMACRequest) (bool, error) {
	e, err := s.use(ctx, tenant, key, tSM4|tHMAC, "MACs")
	if err != nil {
		return false, err
	}
	return s.verifyMAC(ctx, e, key, req)
}

// VerifyMACBatch is VerifyMAC for many items under one key.
func (s *Service) VerifyMACBatch(ctx context.Context, tenant, key string, items []VerifyMACRequest) ([]Result[bool], error) {
	return runBatch(ctx, s, tenant, key, tSM4|tHMAC, "MACs", items, s.verifyMAC)
}

func (s *Service) mac(ctx context.Context, e *entry, ref string, req MACRequest) (MACResult, error) {
	v, err := e.encryptVersion(ref, req.Version)
	if err != nil {
		return MACResult{}, err
	}
	k, err := s.keyFor(ctx, e, ref, v, req.Derivation)
	if err != nil {
		return MACResult{}, err
	}
	m, err := k.(device.MAC).MAC(ctx, nil, req.Input)
	if err != nil {
		return MACResult{}, deviceErr(err)
	}
	return MACResult{MAC: m, Version: v}, nil
}

func (s *Service) verifyMAC(ctx context.Context, e *entry, ref string, req VerifyMACRequest) (bool, error) {
	v, err := e.verifyVersion(ref, req.Version)
	if err != nil {
		return false, err
	}
	k, err := s.keyFor(ctx, e, ref, v, req.Derivation)
	if err != nil {
		return false, err
	}
	var buf [32]byte
	m, err := k.(device.MAC).MAC(ctx, buf[:0], req.Input)
	if err != nil {
		return false, deviceErr(err)
	}
	return subtle.ConstantTimeCompare(m, req.MAC) == 1, nil
}
