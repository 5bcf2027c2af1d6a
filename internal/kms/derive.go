package kms

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

// Derivation names a key derived from a derived=true sm4 key ("one device,
// one key", 一机一密): a per-device key, optionally narrowed to a business
// type and then to a session. The same inputs always give the same key.
//
// With K the raw 16-byte key of parent version v and KDF the SM3 key
// derivation function of GB/T 32918.4-2016 section 5.4.3 (KDF(Z, 16) is
// the first 16 bytes of SM3(Z || 0x00000001)):
//
//	K_device   = KDF(K        || "MIMA-DERIVE-1" || 0x01 || BE32(v) || BE16(len(DeviceID)) || DeviceID, 16)
//	K_business = KDF(K_device || "MIMA-DERIVE-1" || 0x02 || BE16(len(Business)) || Business, 16)
//	K_session  = KDF(K_business || "MIMA-DERIVE-1" || 0x03 || BE16(len(Session)) || Session, 16)
//
// BE32 and BE16 are big-endian lengths; the strings are their UTF-8 bytes.
// The derived key is K_device when only DeviceID is set, K_business with
// Business, K_session with Session too. Each level depends only on the one
// above, so a device provisioned with its K_device (Derive with only
// DeviceID) can compute its business and session keys itself.
type Derivation struct {
	DeviceID string `json:"device_id"`
	Business string `json:"business,omitempty"`
	Session  string `json:"session,omitempty"`
}

const (
	deriveLabel   = "MIMA-DERIVE-1"
	maxDerivePart = 256
)

func (d *Derivation) check() error {
	if d.DeviceID == "" {
		return fault.Invalid("a derivation needs a device id")
	}
	if d.Session != "" && d.Business == "" {
		return fault.Invalid("a derivation with a session needs a business type")
	}
	if len(d.DeviceID) > maxDerivePart || len(d.Business) > maxDerivePart || len(d.Session) > maxDerivePart {
		return fault.Invalid("device id, business type and session are at most %d bytes", maxDerivePart)
	}
	return nil
}

// deriveInfo encodes the info of one derivation level: label, level, the
// parent version for level 1, and the length-prefixed value.
func deriveInfo(level byte, version int, value string) []byte {
	b := make([]byte, 0, len(deriveLabel)+1+4+2+len(value))
	b = append(b, deriveLabel...)
	b = append(b, level)
	if level == 1 {
		b = binary.BigEndian.AppendUint32(b, uint32(version))
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(value)))
	return append(b, value...)
}

// keyFor returns the key to use for version v: the version itself, or,
// when d is set, the key derived from it on the device.
func (s *Service) keyFor(ctx context.Context, e *entry, ref string, v int, d *Derivation) (device.Key, error) {
	if d == nil {
		return e.versions[v-1], nil
	}
	if !e.derived {
		return nil, fault.Invalid("key %q is not a derived key; omit the derivation", ref)
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	return deriveFrom(ctx, e.versions[v-1], v, d)
}

// deriveFrom derives the key that d names from k, version v of its key.
func deriveFrom(ctx context.Context, k device.Key, v int, d *Derivation) (device.Key, error) {
	levels := []struct {
		level byte
		value string
	}{{1, d.DeviceID}, {2, d.Business}, {3, d.Session}}
	for _, l := range levels {
		if l.value == "" {
			break
		}
		deriver, ok := k.(device.Deriver)
		if !ok {
			return nil, fmt.Errorf("kms: %s keys cannot derive", k.Type())
		}
		var err error
		if k, err = deriver.Derive(ctx, deriveInfo(l.level, v, l.value)); err != nil {
			return nil, deviceErr(err)
		}
	}
	return k, nil
}

// derivedKey returns the raw bytes of the key named by d under version v
// of e, which the device derives and lets out (device.Extractable).
func (s *Service) derivedKey(ctx context.Context, e *entry, ref string, v int, d *Derivation) ([]byte, error) {
	k, err := s.keyFor(ctx, e, ref, v, d)
	if err != nil {
		return nil, err
	}
	ex, ok := k.(device.Extractable)
	if !ok {
		return nil, deviceErr(fmt.Errorf("kms: %w: the device keeps derived keys in", device.ErrNotSupported))
	}
	raw, err := ex.Extract(ctx)
	if err != nil {
		return nil, deviceErr(err)
	}
	return raw, nil
}

// DeriveRequest asks for a derived key.
type DeriveRequest struct {
	Derivation
	// Version of the parent key; 0 for the latest.
	Version int
	// WithPlaintext returns the derived key itself besides the wrapped one.
	WithPlaintext bool
}

// DerivedKey is a derived key, wrapped (encrypted under the parent version,
// no AAD, in the ciphertext format; Decrypt on the parent key unwraps it)
// and, when asked for, in plaintext: 16 raw SM4 key bytes.
type DerivedKey struct {
	Plaintext []byte `json:"plaintext,omitempty"`
	Wrapped   string `json:"wrapped"`
	Version   int    `json:"version"`
}

// Derive returns the key named by req.Derivation under a derived sm4 key,
// for provisioning devices. Operations can also use a derived key directly:
// pass the Derivation to Encrypt, Decrypt, MAC and VerifyMAC.
func (s *Service) Derive(ctx context.Context, tenant, key string, req DeriveRequest) (DerivedKey, error) {
	e, err := s.use(ctx, tenant, key, tSM4, "derivation")
	if err != nil {
		return DerivedKey{}, err
	}
	return s.deriveOne(ctx, e, key, req)
}

// DeriveBatch is Derive for many items under one key.
func (s *Service) DeriveBatch(ctx context.Context, tenant, key string, items []DeriveRequest) ([]Result[DerivedKey], error) {
	return runBatch(ctx, s, tenant, key, tSM4, "derivation", items, s.deriveOne)
}

func (s *Service) deriveOne(ctx context.Context, e *entry, ref string, req DeriveRequest) (DerivedKey, error) {
	v, err := e.encryptVersion(ref, req.Version)
	if err != nil {
		return DerivedKey{}, err
	}
	material, err := s.derivedKey(ctx, e, ref, v, &req.Derivation)
	if err != nil {
		return DerivedKey{}, err
	}
	e2, v2, err := s.spend(ctx, e, ref, v, req.Version == 0)
	if err != nil {
		clear(material)
		return DerivedKey{}, err
	}
	if v2 != v { // the key rotated: derive under the new version
		clear(material)
		e, v = e2, v2
		if material, err = s.derivedKey(ctx, e, ref, v, &req.Derivation); err != nil {
			return DerivedKey{}, err
		}
	}
	wrapped, err := s.sealSM4(ctx, e.versions[v-1], v, material, nil)
	if err != nil {
		clear(material)
		return DerivedKey{}, err
	}
	out := DerivedKey{Wrapped: wrapped, Version: v}
	if req.WithPlaintext {
		out.Plaintext = material
	} else {
		clear(material)
	}
	return out, nil
}
