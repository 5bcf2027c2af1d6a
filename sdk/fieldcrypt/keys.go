// Package fieldcrypt encrypts database fields and file columns next to
// the data, with keys that mima hands out and controls: a field is
// encrypted locally, and only data keys cross the wire. docs/data.md
// describes the modes and the stored formats.
//
// A Codec does the work of one field value at a time, so a database proxy
// can call it per column value; a Config (fields.yaml) says which mode each
// column gets. Keys come from a KeyService: ClientKeys wraps an sdk.Client.
package fieldcrypt

import (
	"context"
	"fmt"

	"github.com/mimacrypto/mima/sdk"
)

// FieldDevice is the device id under which the field keys of the
// deterministic modes are derived from a mima key (see KeyService).
const FieldDevice = "mima-fieldcrypt"

// KeyService is what fieldcrypt asks of mima. Every method is one call to
// the service; the Codec caches what they return.
type KeyService interface {
	// DataKey returns a fresh SM4 data key under the mima key and its
	// wrapped form, a ciphertext of that key.
	DataKey(ctx context.Context, key string) (plaintext []byte, wrapped string, err error)
	// Unwrap returns the data key that a wrapped form under key holds.
	Unwrap(ctx context.Context, key, wrapped string) ([]byte, error)
	// FieldKey returns the field key of a purpose ("deterministic",
	// "blind-index", "fpe", "pseudonym") under a version of the key (0:
	// the latest), and that version. The same key, purpose and version
	// give the same field key on every node.
	FieldKey(ctx context.Context, key, purpose string, version int) ([]byte, int, error)
}

// ClientKeys is the KeyService of a mima client. Field keys are the keys
// that the derive endpoint gives for device FieldDevice and business
// purpose, so keys used in the deterministic modes are created with
// derived=true; the /fpe endpoint uses the same FPE key.
func ClientKeys(c *sdk.Client) KeyService { return clientKeys{c} }

type clientKeys struct{ c *sdk.Client }

func (k clientKeys) DataKey(ctx context.Context, key string) ([]byte, string, error) {
	r, err := k.c.Crypto().DataKey(ctx, key, sdk.DataKeyRequest{Kind: "sm4"})
	if err != nil {
		return nil, "", fmt.Errorf("fieldcrypt: a data key under %q: %w", key, err)
	}
	return r.Plaintext, r.Ciphertext, nil
}

func (k clientKeys) Unwrap(ctx context.Context, key, wrapped string) ([]byte, error) {
	r, err := k.c.Crypto().Decrypt(ctx, key, sdk.DecryptRequest{Ciphertext: wrapped})
	if err != nil {
		return nil, fmt.Errorf("fieldcrypt: unwrapping a data key under %q: %w", key, err)
	}
	return r.Plaintext, nil
}

func (k clientKeys) FieldKey(ctx context.Context, key, purpose string, version int) ([]byte, int, error) {
	r, err := k.c.Crypto().Derive(ctx, key, sdk.DeriveRequest{Derivation: sdk.Derivation{DeviceID: FieldDevice, Business: purpose}, Version: version})
	if err != nil {
		return nil, 0, fmt.Errorf("fieldcrypt: the %s key of %q: %w", purpose, key, err)
	}
	return r.Plaintext, r.KeyVersion, nil
}
