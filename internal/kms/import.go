package kms

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

// ImportTokenTTL is how long an import token from ImportParams stays usable.
const ImportTokenTTL = 24 * time.Hour

// tokenBytes is the number of random bytes of an import token, hex
// encoded.
const tokenBytes = 16

// ImportParams is what a caller needs to import key material into a key:
// a one-time SM2 wrapping public key and the token that names it.
type ImportParams struct {
	// Token names the wrapping key in the following Import. It is good for
	// one Import of this key only, until ExpiresAt.
	Token string `json:"token"`
	// PublicKey is the wrapping public key: a PEM block "PUBLIC KEY"
	// holding a SubjectPublicKeyInfo with the SM2 curve OID
	// 1.2.156.10197.1.301.
	PublicKey string `json:"public_key"`
	// Key is the name of the key (after following an alias) and Type its
	// type, which decides the wrapping format.
	Key       string         `json:"key"`
	Type      device.KeyType `json:"type"`
	ExpiresAt time.Time      `json:"expires_at"`
}

// ImportRequest carries wrapped key material to Import.
//
// WrappedMaterial depends on the key's type:
//
//	sm4, hmac-sm3  the raw key (16 bytes for sm4; 16 to 64 bytes for
//	               hmac-sm3) encrypted to the wrapping public key with SM2
//	               public-key encryption (GB/T 32918.4): the GM/T 0009
//	               ASN.1 SEQUENCE {x, y, hash, ciphertext}, or raw
//	               C1 || C3 || C2 with an uncompressed C1 (first byte 0x04)
//	sm2            a GB/T 35276-2017 SM2EnvelopedKey DER SEQUENCE
//	               {symAlgID AlgorithmIdentifier (SM4 1.2.156.10197.1.104
//	               or SM4-ECB 1.2.156.10197.1.104.1), symEncryptedKey
//	               (the 16-byte SM4 key, SM2-encrypted to the wrapping
//	               public key, ASN.1 form), sm2PublicKey BIT STRING (the
//	               uncompressed public point), sm2EncryptedPrivateKey BIT
//	               STRING (the 32-byte private scalar, big endian, SM4-ECB
//	               encrypted without padding: exactly 32 bytes)}, as made by
//	               gmsm's sm2.MarshalEnvelopedPrivateKey
type ImportRequest struct {
	Token           string
	WrappedMaterial []byte
}

// importToken is the stored form of an import token, at
// t/<tenant>/import/<token>:
//
//	{"key": name, "wrapping_key": base64 of the device's stored form of
//	 the SM2 wrapping key (the Software device: the 32-byte private
//	 scalar), "created_at": RFC 3339, "expires_at": RFC 3339}
type importToken struct {
	Key         string    `json:"key"`
	WrappingKey []byte    `json:"wrapping_key"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// ImportParams creates a one-time SM2 wrapping key pair for importing
// material into key ref (a key name or alias), like AWS KMS
// GetParametersForImport. The device generates the pair; its stored form
// stays behind the barrier until the token's Import, or until RunJobs
// deletes it ImportTokenTTL later.
// The key must exist and not be pending deletion.
func (s *Service) ImportParams(ctx context.Context, tenant, ref string) (ImportParams, error) {
	st, r, err := s.readRecord(ctx, tenant, ref)
	if err != nil {
		return ImportParams{}, err
	}
	r.wipe()
	if r.State == PendingDeletion {
		return ImportParams{}, fault.New(fault.KeyPendingDeletion, "key %q is pending deletion", ref)
	}
	id := make([]byte, tokenBytes)
	if _, err := io.ReadFull(s.rand, id); err != nil {
		return ImportParams{}, deviceErr(err)
	}
	token := hex.EncodeToString(id)
	wk, err := s.dev.Generate(onDevice(ctx, tenant, r.Device), device.SM2)
	if err != nil {
		return ImportParams{}, deviceErr(err)
	}
	pub, err := s.dev.Open(ctx, device.SM2, wk)
	if err != nil {
		clear(wk)
		return ImportParams{}, deviceErr(err)
	}
	der, err := smx509.MarshalPKIXPublicKey(pub.(device.Signer).Public())
	if err != nil {
		clear(wk)
		return ImportParams{}, deviceErr(err)
	}
	now := s.now().UTC()
	tok := importToken{Key: r.Name, WrappingKey: wk, CreatedAt: now, ExpiresAt: now.Add(ImportTokenTTL)}
	b, err := json.Marshal(tok)
	clear(tok.WrappingKey)
	if err != nil {
		return ImportParams{}, fmt.Errorf("kms: encoding import token: %w", err)
	}
	defer clear(b)
	if err := st.Batch(ctx, []storage.Op{
		{Key: importPath(tenant, token), Value: b},
		{Key: duePath(dueImport, tok.ExpiresAt, tenant, token), Value: []byte{}},
	}); err != nil {
		return ImportParams{}, fault.Storage(err)
	}
	return ImportParams{
		Token: token, PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		Key: r.Name, Type: r.Type, ExpiresAt: tok.ExpiresAt,
	}, nil
}

// Import unwraps key material with the wrapping key of req.Token and adds
// it to key ref as its new latest version, like OpenBao transit's
// import-version: versions before it stay usable, and the new one is used
// exactly like a generated version. Import does not create keys: create
// one, import, and retire the generated version 1 with SetMinVersions if
// only imported material may be used.
//
// The token must come from ImportParams for the same key and tenant and
// not be expired or used (import_token_invalid). Any Import that gets as
// far as the token's wrapping key uses the token up, whatever the outcome,
// so that it cannot serve as a decryption oracle; so does one that finds
// it expired. A token presented for another key, or while the key is
// pending deletion, stays usable. Material that does not unwrap, or breaks
// the rules of its type, is import_failed; the message names the rule,
// never the material.
func (s *Service) Import(ctx context.Context, tenant, ref string, req ImportRequest) (KeyInfo, error) {
	st, name, err := s.resolveForWrite(ctx, tenant, ref)
	if err != nil {
		return KeyInfo{}, err
	}
	if !validToken(req.Token) {
		return KeyInfo{}, errTokenInvalid
	}
	// The token is used up first, in a transaction of its own: a token
	// unwrapped with is gone even if the import then fails.
	var (
		tok *importToken
		typ device.KeyType
	)
	err = storage.Atomic(ctx, st, func(tx storage.Backend) error {
		r, err := loadRecord(ctx, tx, tenant, name, ref)
		if err != nil {
			return err
		}
		defer r.wipe()
		if r.State == PendingDeletion {
			return fault.New(fault.KeyPendingDeletion, "key %q is pending deletion", ref)
		}
		typ = r.Type
		if tok, err = loadImportToken(ctx, tx, tenant, req.Token); err != nil {
			return err
		}
		if tok.Key != name {
			clear(tok.WrappingKey)
			return fault.New(fault.ImportTokenInvalid, "the import token was issued for another key")
		}
		return tx.Batch(ctx, []storage.Op{
			{Key: importPath(tenant, req.Token), Delete: true},
			{Key: duePath(dueImport, tok.ExpiresAt, tenant, req.Token), Delete: true},
		})
	})
	if err != nil {
		return KeyInfo{}, fault.Storage(err)
	}
	defer clear(tok.WrappingKey)
	now := s.now().UTC()
	if !now.Before(tok.ExpiresAt) {
		return KeyInfo{}, fault.New(fault.ImportTokenInvalid, "the import token expired at %s", tok.ExpiresAt.Format(time.RFC3339))
	}
	wk, err := s.dev.Open(ctx, device.SM2, tok.WrappingKey)
	if err != nil {
		return KeyInfo{}, deviceErr(fmt.Errorf("kms: import token %s/%s: opening its wrapping key: %w", tenant, req.Token, err))
	}
	material, err := s.dev.Unwrap(device.WithTenant(ctx, tenant), wk, typ, req.WrappedMaterial)
	if err != nil {
		return KeyInfo{}, unwrapErr(err, typ)
	}
	defer clear(material)
	return s.update(ctx, tenant, name, func(r *record, now time.Time) error {
		if r.State == PendingDeletion {
			return fault.New(fault.KeyPendingDeletion, "key %q is pending deletion", ref)
		}
		// update wipes r, and may call this again: the record gets a copy.
		n := r.addVersion(slices.Clone(material), now)
		r.Versions[n-1].Imported = true
		return nil
	})
}

var errTokenInvalid = fault.New(fault.ImportTokenInvalid, "the import token is unknown or already used; get a new one from the import parameters")

// validToken reports whether t has the form of an import token, so that
// only such strings become storage paths.
func validToken(t string) bool {
	if len(t) != 2*tokenBytes {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// loadImportToken reads an import token; an absent one is errTokenInvalid.
func loadImportToken(ctx context.Context, st storage.Backend, tenant, token string) (*importToken, error) {
	b, err := st.Get(ctx, importPath(tenant, token))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errTokenInvalid
	}
	if err != nil {
		return nil, fault.Storage(err)
	}
	defer clear(b)
	var tok importToken
	if err := json.Unmarshal(b, &tok); err != nil {
		return nil, fmt.Errorf("kms: import token %s/%s is corrupt: %w", tenant, token, err)
	}
	return &tok, nil
}

// errUnwrap is the answer to wrapped material that the wrapping key does
// not open, whatever the reason.
var errUnwrap = fault.New(fault.ImportFailed, "the wrapped material could not be unwrapped with the import token's wrapping key")

// unwrapErr maps a failed device.Unwrap of material for a key of type t
// to what the caller is told: it does not unwrap, it breaks a named rule
// of its type, the device is busy or unavailable, or the device refuses.
func unwrapErr(err error, t device.KeyType) error {
	var me *device.MaterialError
	switch {
	case errors.Is(err, device.ErrUnwrap):
		return errUnwrap
	case errors.As(err, &me):
		return fault.Wrap(err, fault.ImportFailed, "%s", me.Rule)
	case errors.Is(err, device.ErrBusy), errors.Is(err, device.ErrUnavailable):
		return deviceErr(err)
	}
	return fault.Wrap(err, fault.ImportFailed, "the key device refused the %s key material", t)
}
