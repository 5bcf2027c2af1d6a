//go:build cgo && linux

package pkcs11

import (
	"bytes"
	"context"

	"github.com/mimacrypto/mima/internal/seal"
)

// SealWrapper returns the wrapper of `seal: pkcs11`: the root key sealed
// with AES-256-GCM by the token under its non-extractable key labelled
// label, generated when the token has none. A blob names its key by
// CKA_ID, so after the label changes (rotation) the old key still opens
// it and Unwrap reports it is not current.
func (d *Device) SealWrapper(label string) seal.Wrapper { return sealWrapper{d: d, label: label} }

type sealWrapper struct {
	d     *Device
	label string
}

func (sealWrapper) Kind() string { return "pkcs11" }

func (w sealWrapper) Wrap(ctx context.Context, rootKey, aad []byte) ([]byte, error) {
	id, err := w.d.tokenKey(ctx, w.label, true)
	if err != nil {
		return nil, err
	}
	return w.d.seal(ctx, id, rootKey, aad)
}

func (w sealWrapper) Unwrap(ctx context.Context, blob, aad []byte) ([]byte, bool, error) {
	l, err := w.d.unseal(ctx, blob, aad)
	if err != nil {
		return nil, false, err
	}
	rootKey := bytes.Clone(l.b)
	l.free()
	id, err := w.d.tokenKey(ctx, w.label, true)
	if err != nil {
		clear(rootKey)
		return nil, false, err
	}
	old, _ := sealedID(blob)
	return rootKey, bytes.Equal(old, id), nil
}
