package sdk

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// ImportParams is a one-time wrapping key for importing material into a
// key (bring your own key).
type ImportParams struct {
	Token     string    `json:"token"`
	PublicKey string    `json:"public_key"`
	Key       string    `json:"key"`
	Type      string    `json:"type"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ImportRequest carries wrapped material with its import token.
type ImportRequest struct {
	Token           string `json:"token"`
	WrappedMaterial []byte `json:"wrapped_material"`
}

// ExportRequest asks for a key version wrapped under an SM2 public key.
type ExportRequest struct {
	PublicKey string `json:"public_key"`
	Version   int    `json:"version,omitempty"`
	SM2Format string `json:"sm2_format,omitempty"`
}

// ExportedKey is key material wrapped for the holder of the export
// request's private key.
type ExportedKey struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Version int    `json:"version"`
	Wrapped []byte `json:"wrapped"`
}

// RestoreRequest restores a backup, optionally under another name.
type RestoreRequest struct {
	Backup   []byte `json:"backup"`
	Password string `json:"password"`
	Name     string `json:"name,omitempty"`
}

// WrapForImport wraps key material for ImportParams p, locally: sm4 and
// hmac-sm3 material (the raw key bytes) is SM2-encrypted (GM/T 0009 ASN.1)
// to the wrapping key; an sm2 key is given as *sm2.PrivateKey and wrapped
// as a GB/T 35276 SM2 enveloped key.
func WrapForImport(p ImportParams, material any) ([]byte, error) {
	pub, err := parseSM2PublicKey(p.PublicKey)
	if err != nil {
		return nil, err
	}
	switch m := material.(type) {
	case []byte:
		if p.Type == "sm2" {
			return nil, errors.New("sdk: an sm2 key is imported as *sm2.PrivateKey")
		}
		return sm2.EncryptASN1(rand.Reader, pub, m)
	case *sm2.PrivateKey:
		if p.Type != "sm2" {
			return nil, fmt.Errorf("sdk: a %s key is imported as raw key bytes", p.Type)
		}
		return sm2.MarshalEnvelopedPrivateKey(rand.Reader, pub, m)
	default:
		return nil, fmt.Errorf("sdk: cannot import material of type %T", material)
	}
}

// UnwrapExported opens an exported key with the private key whose public
// half was given to Export: raw bytes for sm4 and hmac-sm3 keys, an
// *sm2.PrivateKey for sm2 keys.
func UnwrapExported(e ExportedKey, priv *sm2.PrivateKey) (any, error) {
	if e.Type == "sm2" {
		return OpenEnvelopedKey(e.Wrapped, priv)
	}
	return sm2.Decrypt(priv, e.Wrapped)
}

// OpenEnvelopedKey opens a GB/T 35276 SM2 enveloped private key (an
// exported sm2 key, or the encryption key of Dual) with the private key
// it was enveloped to.
func OpenEnvelopedKey(env []byte, priv *sm2.PrivateKey) (k *sm2.PrivateKey, err error) {
	// gmsm v0.44.0 can panic on a malformed envelope.
	defer func() {
		if recover() != nil {
			k, err = nil, errors.New("sdk: malformed SM2 enveloped key")
		}
	}()
	return sm2.ParseEnvelopedPrivateKey(priv, env)
}

func parseSM2PublicKey(pemText string) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("sdk: expected a PEM PUBLIC KEY")
	}
	k, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("sdk: %w", err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(pub) {
		return nil, errors.New("sdk: not an SM2 public key")
	}
	return pub, nil
}
