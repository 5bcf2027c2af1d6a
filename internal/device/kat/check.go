package kat

import (
	"bytes"
	"context"
	"crypto/hmac"
	"fmt"

	"github.com/emmansun/gmsm/sm2"

	"github.com/mimacrypto/mima/internal/device"
)

// Check is a known-answer test of dev through its public interface: it
// imports the vectors' keys the way keys enter any device (Unwrap under an
// SM2 key the device generates) and checks the SM4-CMAC and HMAC-SM3 tags,
// the RFC 8998 SM4-GCM opening, and the GM/T 0003.5 SM2 key: its public
// key and the decryption of the standard's ciphertext. An error names the
// vector that failed; it never carries key material.
func Check(ctx context.Context, dev device.Device) error {
	v, err := Load()
	if err != nil {
		return err
	}
	stored, err := dev.Generate(ctx, device.SM2)
	if err != nil {
		return fmt.Errorf("generating a wrapping key: %w", err)
	}
	wk, err := dev.Open(ctx, device.SM2, stored)
	if err != nil {
		return fmt.Errorf("opening a wrapping key: %w", err)
	}
	imp := importer{ctx: ctx, dev: dev, wk: wk}
	for _, tc := range []struct {
		t       device.KeyType
		vectors []MACVector
	}{{device.SM4, v.SM4CMAC}, {device.HMACSM3, v.HMACSM3}} {
		for _, mv := range tc.vectors {
			k, err := imp.key(tc.t, mv.Key)
			if err != nil {
				return fmt.Errorf("%s: %w", mv.Source, err)
			}
			m, ok := k.(device.MAC)
			if !ok {
				return fmt.Errorf("%s: the %s key has no MAC", mv.Source, tc.t)
			}
			if got, err := m.MAC(ctx, nil, mv.Message); err != nil || !hmac.Equal(got, mv.MAC) {
				return fmt.Errorf("%s: the MAC differs from the known answer (%v)", mv.Source, err)
			}
		}
	}
	for _, gv := range v.SM4GCM {
		k, err := imp.key(device.SM4, gv.Key)
		if err != nil {
			return fmt.Errorf("%s: %w", gv.Source, err)
		}
		a, ok := k.(device.AEAD)
		if !ok {
			return fmt.Errorf("%s: the sm4 key has no AEAD", gv.Source)
		}
		pt, err := a.Open(ctx, nil, append(bytes.Clone(gv.Nonce), gv.Sealed...), gv.AAD)
		if err != nil || !bytes.Equal(pt, gv.Plaintext) {
			return fmt.Errorf("%s: SM4-GCM does not open to the known answer (%v)", gv.Source, err)
		}
	}
	return checkSM2(ctx, imp, v)
}

// checkSM2 imports the GM/T 0003.5 example key and checks its public key
// and the decryption of the standard's ciphertext.
func checkSM2(ctx context.Context, imp importer, v Vectors) error {
	k, err := imp.key(device.SM2, v.SM2.PrivateKey)
	if err != nil {
		return fmt.Errorf("GM/T 0003.5 key: %w", err)
	}
	s, ok := k.(device.Signer)
	d, dok := k.(device.Decrypter)
	if !ok || !dok {
		return fmt.Errorf("GM/T 0003.5 key: the sm2 key cannot sign and decrypt")
	}
	point, err := sm2.PublicKeyToECDH(s.Public())
	if err != nil || !bytes.Equal(point.Bytes(), v.SM2.PublicKey) {
		return fmt.Errorf("GM/T 0003.5 key: the public key differs from the standard's")
	}
	pt, err := d.Decrypt(ctx, v.SM2.EncryptCiphertext)
	if err != nil || !bytes.Equal(pt, v.SM2.EncryptPlaintext) {
		return fmt.Errorf("GM/T 0003.5 ciphertext: the decryption differs from the known answer (%v)", err)
	}
	return nil
}

// importer brings known keys into a device through Unwrap.
type importer struct {
	ctx context.Context
	dev device.Device
	wk  device.Key
}

// key imports raw, a raw sm4 or hmac-sm3 key or an SM2 scalar, and opens it.
func (imp importer) key(t device.KeyType, raw []byte) (device.Key, error) {
	pub := imp.wk.(device.Signer).Public()
	var wrapped []byte
	var err error
	if t == device.SM2 {
		priv, perr := sm2.NewPrivateKey(raw)
		if perr != nil {
			return nil, perr
		}
		wrapped, err = sm2.MarshalEnvelopedPrivateKey(imp.dev.Random(), pub, priv)
	} else {
		wrapped, err = sm2.EncryptASN1(imp.dev.Random(), pub, raw)
	}
	if err != nil {
		return nil, fmt.Errorf("wrapping a %s key: %w", t, err)
	}
	stored, err := imp.dev.Unwrap(imp.ctx, imp.wk, t, wrapped)
	if err != nil {
		return nil, fmt.Errorf("unwrapping a %s key: %w", t, err)
	}
	return imp.dev.Open(imp.ctx, t, stored)
}
