package kms

import (
	"context"
	"crypto/ecdsa"
	"encoding/pem"
	"errors"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

// ExportRequest asks for one version of an exportable key, wrapped under
// the caller's SM2 public key.
type ExportRequest struct {
	// PublicKeyPEM is the wrapping key: a PEM block "PUBLIC KEY" holding
	// an SM2 SubjectPublicKeyInfo (as PublicKey returns).
	PublicKeyPEM string
	// Version to export; 0 for the latest.
	Version int
	// SM2Format selects the SM2 ciphertext form wrapping sm4 and hmac-sm3
	// material; "" is SM2ASN1. It does not apply to sm2 keys.
	SM2Format SM2Format
}

// ExportedKey is one version of a key wrapped under the caller's SM2
// public key, in the formats ImportRequest describes:
//
//	sm4, hmac-sm3  the raw key SM2-encrypted to the public key: GM/T 0009
//	               ASN.1, or C1 || C3 || C2 with an uncompressed C1 when
//	               ExportRequest.SM2Format is SM2C1C3C2
//	sm2            a GB/T 35276 SM2EnvelopedKey for the public key (SM4-ECB
//	               over the 32-byte scalar, the SM4 key SM2-encrypted in
//	               ASN.1 form), which gmsm's sm2.ParseEnvelopedPrivateKey
//	               opens
type ExportedKey struct {
	Name    string         `json:"name"`
	Type    device.KeyType `json:"type"`
	Version int            `json:"version"`
	Wrapped []byte         `json:"wrapped"`
}

// Export returns a version of key ref wrapped under req.PublicKeyPEM; the
// material never leaves in the clear. The key must have been created
// exportable (key_not_exportable) and be enabled, and the version must not
// be below the key's minimum decryption version.
func (s *Service) Export(ctx context.Context, tenant, ref string, req ExportRequest) (ExportedKey, error) {
	pub, err := ParseWrappingKey(req.PublicKeyPEM)
	if err != nil {
		return ExportedKey{}, err
	}
	_, r, err := s.readRecord(ctx, tenant, ref)
	if err != nil {
		return ExportedKey{}, err
	}
	defer r.wipe()
	if !r.Exportable {
		return ExportedKey{}, fault.New(fault.KeyNotExportable, "key %q was not created exportable", ref)
	}
	switch r.State {
	case Disabled:
		return ExportedKey{}, fault.New(fault.KeyDisabled, "key %q is disabled", ref)
	case PendingDeletion:
		return ExportedKey{}, fault.New(fault.KeyPendingDeletion, "key %q is pending deletion", ref)
	}
	v := req.Version
	switch {
	case v == 0:
		v = r.latest()
	case v < 0 || v > r.latest():
		return ExportedKey{}, fault.Invalid("key %q has no version %d", ref, v)
	case v < r.MinDecryptionVersion:
		return ExportedKey{}, keyVersionTooOld(ref, v, r.MinDecryptionVersion)
	}
	form, err := exportForm(r.Type, req.SM2Format)
	if err != nil {
		return ExportedKey{}, err
	}
	k, err := s.dev.Open(ctx, r.Type, r.Versions[v-1].Material)
	if err != nil {
		return ExportedKey{}, deviceErr(err)
	}
	w, ok := k.(device.Wrapper)
	if !ok {
		return ExportedKey{}, errDeviceKeepsKey(ref)
	}
	wrapped, err := w.Wrap(ctx, pub, form)
	if errors.Is(err, device.ErrNotSupported) {
		return ExportedKey{}, errDeviceKeepsKey(ref)
	}
	if err != nil {
		return ExportedKey{}, deviceErr(err)
	}
	return ExportedKey{Name: r.Name, Type: r.Type, Version: v, Wrapped: wrapped}, nil
}

// errDeviceKeepsKey is the answer when the device does not let an
// exportable key out.
func errDeviceKeepsKey(ref string) error {
	return fault.New(fault.KeyNotExportable, "the device holding key %q does not let it leave", ref)
}

// exportForm checks the SM2 ciphertext format of an export of a key of
// type t (see ExportedKey).
func exportForm(t device.KeyType, format SM2Format) (device.SM2Form, error) {
	if t == device.SM2 && format != "" {
		return 0, fault.Invalid("an SM2 ciphertext format applies to sm4 and hmac-sm3 keys; sm2 keys are exported as enveloped keys")
	}
	return sm2Form(format)
}

// sm2Form maps an SM2 ciphertext format to the device's.
func sm2Form(format SM2Format) (device.SM2Form, error) {
	switch format {
	case "", SM2ASN1:
		return device.SM2ASN1, nil
	case SM2C1C3C2:
		return device.SM2C1C3C2, nil
	}
	return 0, fault.Invalid("unknown SM2 ciphertext format %q; use %q or %q", format, SM2ASN1, SM2C1C3C2)
}

// ParseWrappingKey reads a caller's SM2 public key: one PEM block
// "PUBLIC KEY" holding an SM2 SubjectPublicKeyInfo, and nothing else.
func ParseWrappingKey(s string) (*ecdsa.PublicKey, error) {
	block, rest := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" || strings.TrimSpace(string(rest)) != "" {
		return nil, fault.Invalid(`the wrapping public key must be a single PEM block "PUBLIC KEY" (SubjectPublicKeyInfo)`)
	}
	pub, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fault.Wrap(err, fault.InvalidArgument, "the wrapping public key is not a valid SubjectPublicKeyInfo")
	}
	if !sm2.IsSM2PublicKey(pub) {
		return nil, fault.Invalid("the wrapping public key must be an SM2 key (curve 1.2.156.10197.1.301), not %s", device.DescribeKey(pub))
	}
	return pub.(*ecdsa.PublicKey), nil
}
