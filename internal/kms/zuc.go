package kms

import (
	"context"
	"github.com/mimacrypto/mima/internal/fault"
	"math"

	"github.com/mimacrypto/mima/internal/device"
)

// ZUCRequest is one ZUC operation on a message of Bits bits: 128-EEA3 or
// 128-EIA3 (3GPP TS 35.221, TS 35.222) with a zuc-128 key and COUNT,
// BEARER and DIRECTION; the ZUC-256 keystream or MAC with a zuc-256 key
// and an IV. The caller owns keystream uniqueness, as 3GPP has it: one
// COUNT, BEARER and DIRECTION (or IV) per message and key.
type ZUCRequest struct {
	// Count (0 to 2^32-1), Bearer (0 to 31) and Direction (0 or 1): the
	// IV of zuc-128 keys.
	Count     int64
	Bearer    int
	Direction int
	// IV is the 23-byte ZUC-256 IV of zuc-256 keys (device.ZUC256IVSize).
	IV    []byte
	Input []byte
	// Bits is the message length in bits, 0 for all of Input; Input is
	// then Bits rounded up to whole bytes.
	Bits int
	// MACSize is the MAC size of EIA3: 4 (the default) or, for zuc-256
	// keys, 8 or 16.
	MACSize int
	// Version to compute with: 0 for the latest, else a version at least
	// the minimum decryption version (EEA3 is its own inverse, and EIA3
	// checks what an older version made).
	Version    int
	Derivation *Derivation
}

// ZUCResult is the output of EEA3 or the MAC of EIA3, and the version
// that computed it.
type ZUCResult struct {
	Output  []byte
	MAC     []byte
	Version int
}

// EEA3 encrypts or decrypts a message with a ZUC key.
func (s *Service) EEA3(ctx context.Context, tenant, key string, req ZUCRequest) (ZUCResult, error) {
	return s.zucOne(ctx, tenant, key, "eea3", req, s.eea3)
}

// EEA3Batch is EEA3 for many messages under one key.
func (s *Service) EEA3Batch(ctx context.Context, tenant, key string, items []ZUCRequest) ([]Result[ZUCResult], error) {
	return runBatch(ctx, s, tenant, key, tZUC, "eea3", items, s.eea3)
}

// EIA3 computes the MAC of a message with a ZUC key.
func (s *Service) EIA3(ctx context.Context, tenant, key string, req ZUCRequest) (ZUCResult, error) {
	return s.zucOne(ctx, tenant, key, "eia3", req, s.eia3)
}

// EIA3Batch is EIA3 for many messages under one key.
func (s *Service) EIA3Batch(ctx context.Context, tenant, key string, items []ZUCRequest) ([]Result[ZUCResult], error) {
	return runBatch(ctx, s, tenant, key, tZUC, "eia3", items, s.eia3)
}

type zucOp func(ctx context.Context, e *entry, ref string, req ZUCRequest) (ZUCResult, error)

func (s *Service) zucOne(ctx context.Context, tenant, key, opName string, req ZUCRequest, op zucOp) (ZUCResult, error) {
	e, err := s.use(ctx, tenant, key, tZUC, opName)
	if err != nil {
		return ZUCResult{}, err
	}
	return op(ctx, e, key, req)
}

func (s *Service) eea3(ctx context.Context, e *entry, ref string, req ZUCRequest) (ZUCResult, error) {
	k, m, v, err := s.zucInput(ctx, e, ref, req)
	if err != nil {
		return ZUCResult{}, err
	}
	out, err := k.EEA3(ctx, nil, m)
	if err != nil {
		return ZUCResult{}, deviceErr(err)
	}
	return ZUCResult{Output: out, Version: v}, nil
}

func (s *Service) eia3(ctx context.Context, e *entry, ref string, req ZUCRequest) (ZUCResult, error) {
	size := req.MACSize
	switch {
	case size == 0:
		size = 4
	case size != 4 && (e.typ != device.ZUC256 || size != 8 && size != 16):
		return ZUCResult{}, fault.Invalid("mac_size is 4 for zuc-128 keys and 4, 8 or 16 for zuc-256 keys, not %d", size)
	}
	k, m, v, err := s.zucInput(ctx, e, ref, req)
	if err != nil {
		return ZUCResult{}, err
	}
	mac, err := k.EIA3(ctx, nil, m, size)
	if err != nil {
		return ZUCResult{}, deviceErr(err)
	}
	return ZUCResult{MAC: mac, Version: v}, nil
}

// zucInput checks req against the key and returns the key to compute
// with, the device's message and the version.
func (s *Service) zucInput(ctx context.Context, e *entry, ref string, req ZUCRequest) (device.StreamCipher, device.ZUCMessage, int, error) {
	m, err := zucMessage(e.typ, req)
	if err != nil {
		return nil, m, 0, err
	}
	v, err := e.verifyVersion(ref, req.Version)
	if err != nil {
		return nil, m, 0, err
	}
	k, err := s.keyFor(ctx, e, ref, v, req.Derivation)
	if err != nil {
		return nil, m, 0, err
	}
	return k.(device.StreamCipher), m, v, nil
}

// zucMessage checks the IV fields and the bit length of req for a key of
// type t.
func zucMessage(t device.KeyType, req ZUCRequest) (device.ZUCMessage, error) {
	bits := req.Bits
	if bits == 0 {
		bits = 8 * len(req.Input)
	}
	if bits < 0 || (bits+7)/8 != len(req.Input) {
		return device.ZUCMessage{}, fault.Invalid("bits is %d but the input is %d bytes: the input holds the bits rounded up to whole bytes", req.Bits, len(req.Input))
	}
	m := device.ZUCMessage{IV: req.IV, Data: req.Input, Bits: bits}
	if t == device.ZUC256 {
		if len(req.IV) != device.ZUC256IVSize || req.Count != 0 || req.Bearer != 0 || req.Direction != 0 {
			return m, fault.Invalid("zuc-256 keys take a %d-byte iv and no count, bearer or direction", device.ZUC256IVSize)
		}
		return m, nil
	}
	switch {
	case req.IV != nil:
		return m, fault.Invalid("zuc-128 keys take count, bearer and direction, not an iv")
	case req.Count < 0 || req.Count > math.MaxUint32:
		return m, fault.Invalid("count must be 0 to %d, not %d", uint32(math.MaxUint32), req.Count)
	case req.Bearer < 0 || req.Bearer > 31:
		return m, fault.Invalid("bearer must be 0 to 31, not %d", req.Bearer)
	case req.Direction != 0 && req.Direction != 1:
		return m, fault.Invalid("direction must be 0 or 1, not %d", req.Direction)
	}
	m.Count, m.Bearer, m.Direction = uint32(req.Count), uint8(req.Bearer), uint8(req.Direction)
	return m, nil
}
