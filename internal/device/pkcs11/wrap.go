//go:build cgo && linux

package pkcs11

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"

	"github.com/miekg/pkcs11"

	"github.com/mimacrypto/mima/internal/device"
)

// Sizes of a sealed blob: len(id) || id || iv || ciphertext || tag, sealed
// with AES-256-GCM by the token under the key whose CKA_ID is id.
const (
	idSize  = 16
	ivSize  = 12
	tagSize = 16
	// minSealed is the shortest blob: a one-byte plaintext.
	minSealed = 1 + idSize + ivSize + 1 + tagSize
)

// wrapLabel is the label of the token key that wraps the keys of tenant;
// keys made without a tenant are wrapped under the device's own.
func wrapLabel(tenant string) string {
	if tenant == "" {
		return "mima-wrap"
	}
	return "mima-wrap/" + tenant
}

// RetireTenant destroys the token key that wraps the keys of tenant, so
// that no stored form of them, in the store or in a copy of it, opens
// again. The server calls it once the tenant is deleted and none of its
// keys remain; a tenant without a token key is retired already.
func (d *Device) RetireTenant(ctx context.Context, tenant string) error {
	if tenant == "" {
		return errors.New("pkcs11: the device's own token key belongs to no tenant")
	}
	label := wrapLabel(tenant)
	return d.withSession(ctx, func(sh pkcs11.SessionHandle) error {
		d.mu.Lock()
		defer d.mu.Unlock()
		found, err := d.find(sh, pkcs11.NewAttribute(pkcs11.CKA_LABEL, label))
		if err != nil {
			return err
		}
		for _, h := range found {
			if err := d.mod.ctx.DestroyObject(sh, h); err != nil {
				return d.fail("destroying a tenant's token key", err)
			}
		}
		delete(d.labels, label)
		for id, h := range d.wrapKeys {
			if slices.Contains(found, h) {
				delete(d.wrapKeys, id)
			}
		}
		return nil
	})
}

// tokenKey returns the CKA_ID of the token's AES wrapping key labelled
// label, generating the key when there is none and create is set.
func (d *Device) tokenKey(ctx context.Context, label string, create bool) ([]byte, error) {
	d.mu.Lock()
	id, ok := d.labels[label]
	d.mu.Unlock()
	if ok {
		return id, nil
	}
	err := d.withSession(ctx, func(sh pkcs11.SessionHandle) error {
		// One at a time, so that two calls do not make two keys.
		d.mu.Lock()
		defer d.mu.Unlock()
		if id = d.labels[label]; id != nil {
			return nil
		}
		found, err := d.find(sh, pkcs11.NewAttribute(pkcs11.CKA_LABEL, label))
		switch {
		case err != nil:
			return err
		case len(found) > 1:
			return fmt.Errorf("pkcs11: token %q holds %d keys labelled %q; remove all but one", d.cfg.TokenLabel, len(found), label)
		case len(found) == 1:
			attrs, err := d.mod.ctx.GetAttributeValue(sh, found[0], []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ID, nil)})
			if err != nil {
				return d.fail("reading a key id", err)
			}
			id = attrs[0].Value
			d.wrapKeys[string(id)], d.labels[label] = found[0], id
			return nil
		case !create:
			return fmt.Errorf("pkcs11: token %q holds no key labelled %q: %w", d.cfg.TokenLabel, label, device.ErrKeyNotFound)
		}
		id = make([]byte, idSize)
		if _, err := rand.Read(id); err != nil {
			return fmt.Errorf("pkcs11: %w", err)
		}
		h, err := d.mod.ctx.GenerateKey(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_GEN, nil)}, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, 32),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
			pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
			pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
			pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true),
			pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, true),
			pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
			pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
			pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		})
		if err != nil {
			return d.fail("generating a wrapping key", err)
		}
		d.wrapKeys[string(id)], d.labels[label] = h, id
		return nil
	})
	return id, err
}

// find returns the AES secret keys matching attrs.
func (d *Device) find(sh pkcs11.SessionHandle, attrs ...*pkcs11.Attribute) ([]pkcs11.ObjectHandle, error) {
	tmpl := append([]*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
	}, attrs...)
	if err := d.mod.ctx.FindObjectsInit(sh, tmpl); err != nil {
		return nil, d.fail("finding keys", err)
	}
	found, _, err := d.mod.ctx.FindObjects(sh, 2)
	if ferr := d.mod.ctx.FindObjectsFinal(sh); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		return nil, d.fail("finding keys", err)
	}
	return found, nil
}

// keyByID returns the handle of the wrapping key with CKA_ID id.
func (d *Device) keyByID(sh pkcs11.SessionHandle, id []byte) (pkcs11.ObjectHandle, error) {
	d.mu.Lock()
	h, ok := d.wrapKeys[string(id)]
	d.mu.Unlock()
	if ok {
		return h, nil
	}
	found, err := d.find(sh, pkcs11.NewAttribute(pkcs11.CKA_ID, id))
	if err != nil {
		return 0, err
	}
	if len(found) != 1 {
		return 0, fmt.Errorf("pkcs11: token %q holds no wrapping key with id %x: %w", d.cfg.TokenLabel, id, device.ErrKeyNotFound)
	}
	d.mu.Lock()
	d.wrapKeys[string(id)] = found[0]
	d.mu.Unlock()
	return found[0], nil
}

// seal encrypts plaintext, binding aad, in the token under the wrapping
// key with CKA_ID id and returns the sealed blob.
func (d *Device) seal(ctx context.Context, id, plaintext, aad []byte) ([]byte, error) {
	iv := make([]byte, ivSize)
	if _, err := rand.Read(iv); err != nil {
		return nil, fmt.Errorf("pkcs11: %w", err)
	}
	var ct []byte
	err := d.withSession(ctx, func(sh pkcs11.SessionHandle) error {
		h, err := d.keyByID(sh, id)
		if err != nil {
			return err
		}
		ct, err = d.gcm(sh, h, iv, aad, plaintext, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 1+idSize+ivSize+len(ct))
	out = append(append(append(append(out, byte(len(id))), id...), iv...), ct...)
	return out, nil
}

// sealedID returns the CKA_ID of the key a blob is sealed under.
func sealedID(blob []byte) ([]byte, bool) {
	if len(blob) < minSealed || blob[0] != idSize {
		return nil, false
	}
	return blob[1 : 1+idSize], true
}

// errCorrupt is a sealed blob that does not open under its key.
var errCorrupt = errors.New("pkcs11: a sealed blob does not open under its token key")

// unseal opens a blob made by seal into locked memory; the caller frees
// it. A blob of the wrong shape is a *device.MaterialError; one that does
// not authenticate is errCorrupt.
func (d *Device) unseal(ctx context.Context, blob, aad []byte) (*locked, error) {
	id, ok := sealedID(blob)
	if !ok {
		return nil, &device.MaterialError{Rule: "a PKCS#11 stored form must be a key sealed by the token"}
	}
	iv, ct := blob[1+idSize:1+idSize+ivSize], blob[1+idSize+ivSize:]
	var out *locked
	err := d.withSession(ctx, func(sh pkcs11.SessionHandle) error {
		h, err := d.keyByID(sh, id)
		if err != nil {
			return err
		}
		pt, err := d.gcm(sh, h, iv, aad, ct, false)
		if err != nil {
			return err
		}
		defer clear(pt)
		if out, err = lock(len(pt)); err != nil {
			return err
		}
		copy(out.b, pt)
		return nil
	})
	return out, err
}

// gcm runs AES-GCM in the token: encrypt or decrypt.
func (d *Device) gcm(sh pkcs11.SessionHandle, h pkcs11.ObjectHandle, iv, aad, in []byte, encrypt bool) ([]byte, error) {
	params := pkcs11.NewGCMParams(bytes.Clone(iv), aad, tagSize*8)
	defer params.Free()
	mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_GCM, params)}
	if encrypt {
		if err := d.mod.ctx.EncryptInit(sh, mech, h); err != nil {
			return nil, d.fail("AES-GCM", err)
		}
		out, err := d.mod.ctx.Encrypt(sh, in)
		return out, d.fail("AES-GCM", err)
	}
	if err := d.mod.ctx.DecryptInit(sh, mech, h); err != nil {
		return nil, d.fail("AES-GCM", err)
	}
	out, err := d.mod.ctx.Decrypt(sh, in)
	// SoftHSM2 answers a tag that does not match with CKR_GENERAL_ERROR.
	if isCode(err, pkcs11.CKR_ENCRYPTED_DATA_INVALID) || isCode(err, pkcs11.CKR_ENCRYPTED_DATA_LEN_RANGE) || isCode(err, pkcs11.CKR_GENERAL_ERROR) {
		return nil, errCorrupt
	}
	return out, d.fail("AES-GCM", err)
}
