package sealstate

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/emmansun/gmsm/sm2"

	"github.com/mimacrypto/mima/internal/storage"
)

// auditKeysPath holds the audit HMAC key and checkpoint signing key,
// behind the barrier.
const auditKeysPath = "audit/keys"

// AuditKeyUser is the audit log as the audit key component sees it.
type AuditKeyUser interface {
	SetKeys(hmacKey []byte, signer crypto.Signer) error
	ClearKeys()
}

// AuditKeys is the component that creates the audit keys at init and
// hands them to the audit log while mima is unsealed.
type AuditKeys struct {
	log  AuditKeyUser
	rand io.Reader
	pub  atomic.Pointer[ecdsa.PublicKey]
}

// NewAuditKeys returns the component for log.
func NewAuditKeys(log AuditKeyUser) *AuditKeys { return &AuditKeys{log: log, rand: rand.Reader} }

type auditKeysRecord struct {
	HMACKey    []byte `json:"hmac_key"`
	SigningKey []byte `json:"signing_key"` // SM2 private scalar, 32 bytes
}

// Initialize creates a 32-byte HMAC-SM3 key and an SM2 signing key.
func (a *AuditKeys) Initialize(ctx context.Context, store storage.Backend) error {
	hmacKey := make([]byte, 32)
	if _, err := io.ReadFull(a.rand, hmacKey); err != nil {
		return fmt.Errorf("sealstate: audit HMAC key: %w", err)
	}
	priv, err := sm2.GenerateKey(a.rand)
	if err != nil {
		return fmt.Errorf("sealstate: audit signing key: %w", err)
	}
	b, err := json.Marshal(auditKeysRecord{HMACKey: hmacKey, SigningKey: priv.D.FillBytes(make([]byte, 32))})
	if err != nil {
		return err
	}
	return store.Put(ctx, auditKeysPath, b)
}

// Unsealed loads the keys and gives them to the audit log.
func (a *AuditKeys) Unsealed(ctx context.Context, store storage.Backend) error {
	b, err := store.Get(ctx, auditKeysPath)
	if err != nil {
		return fmt.Errorf("sealstate: reading audit keys: %w", err)
	}
	var rec auditKeysRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return fmt.Errorf("sealstate: audit keys are corrupt: %w", err)
	}
	priv, err := sm2.NewPrivateKey(rec.SigningKey)
	if err != nil {
		return fmt.Errorf("sealstate: audit signing key: %w", err)
	}
	if err := a.log.SetKeys(rec.HMACKey, priv); err != nil {
		return err
	}
	a.pub.Store(&priv.PublicKey)
	return nil
}

// Sealed takes the keys away from the audit log.
func (a *AuditKeys) Sealed() { a.log.ClearKeys() }

// PublicKey returns the checkpoint verification key, or nil while sealed
// since the last start.
func (a *AuditKeys) PublicKey() *ecdsa.PublicKey { return a.pub.Load() }
