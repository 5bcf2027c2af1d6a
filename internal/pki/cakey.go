package pki

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"io"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
)

// newCAKey creates the sm2 key of a new CA in the key service: not
// exportable, named "ca-<name>-<8 random hex digits>" so that a failed
// creation leaves no name taken.
func (s *Service) newCAKey(ctx context.Context, tenant, name string) (string, *ecdsa.PublicKey, error) {
	suffix := make([]byte, 4)
	if _, err := io.ReadFull(s.rand, suffix); err != nil {
		return "", nil, fault.Unexpected(err)
	}
	key := "ca-" + name + "-" + hex.EncodeToString(suffix)
	if _, err := s.keys.Create(ctx, tenant, kms.CreateRequest{
		Name: key, Type: device.SM2, Description: "private key of CA " + name,
		Tags: map[string]string{"pki-ca": name},
	}); err != nil {
		return "", nil, err
	}
	pub, err := s.publicKey(ctx, tenant, key)
	return key, pub, err
}

// discardKeyOnError schedules the deletion of a key made for a CA or
// certificate whose creation then failed with *err. It is best effort: the
// key is unused, and the failure to report is *err.
func (s *Service) discardKeyOnError(ctx context.Context, tenant, key string, err *error) {
	if *err != nil {
		_, _ = s.keys.ScheduleDeletion(ctx, tenant, key, kms.MinDeletionDays)
	}
}

// publicKey returns the public key of the latest version of an sm2 key.
func (s *Service) publicKey(ctx context.Context, tenant, key string) (*ecdsa.PublicKey, error) {
	signer, err := s.keys.Signer(ctx, tenant, key)
	if err != nil {
		return nil, err
	}
	return signer.Public().(*ecdsa.PublicKey), nil
}
