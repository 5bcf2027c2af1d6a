package p11

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/sdf"
	"github.com/mimacrypto/mima/sdk"
)

// server is a logged-in connection to a slot's tenant. Every SDK call of
// the module is in this file.
type server struct{ c *sdk.Client }

// login checks pin, a mima token, and returns a connection that acts in
// tenant: the token must belong to tenant, or be the root token.
func login(ctx context.Context, cfg sdf.Config, tenant, pin string) (*server, error) {
	c, err := cfg.Client(pin)
	if err != nil {
		return nil, &Error{RV: DeviceError, Err: err}
	}
	self, err := c.Auth().LookupSelf(ctx)
	switch {
	case errors.Is(err, sdk.ErrTokenExpired):
		return nil, &Error{RV: PinExpired, Err: err}
	case errors.Is(err, sdk.ErrUnauthenticated) || errors.Is(err, sdk.ErrTokenRevoked):
		return nil, &Error{RV: PinIncorrect, Err: err}
	case err != nil:
		return nil, err
	case self.Root:
		if c, err = cfg.Client(pin, sdk.WithTenant(tenant)); err != nil {
			return nil, &Error{RV: DeviceError, Err: err}
		}
	case self.Tenant != tenant:
		return nil, fail(PinIncorrect, "the token belongs to another tenant than %q", tenant)
	}
	return &server{c: c}, nil
}

// keys lists the tenant's sm2 and sm4 keys.
func (s *server) keys(ctx context.Context) ([]sdk.Key, error) {
	var all []sdk.Key
	for _, typ := range []sdk.KeyType{sdk.KeyTypeSM2, sdk.KeyTypeSM4} {
		for after := ""; ; {
			l, err := s.c.Keys().List(ctx, sdk.ListKeysOptions{Type: typ, After: after})
			if err != nil {
				return nil, err
			}
			all = append(all, l.Keys...)
			if after = l.Next; after == "" {
				break
			}
		}
	}
	return all, nil
}

func (s *server) publicKey(ctx context.Context, name string) (*ecdsa.PublicKey, error) {
	return sdf.PublicKeyOf(ctx, s.c, name)
}

// signingKey is the latest version of the sm2 key name and its public
// key, so that a multi-part operation hashes Z of the version that signs.
func (s *server) signingKey(ctx context.Context, name string) (int, *ecdsa.PublicKey, error) {
	k, err := s.c.Keys().Get(ctx, name)
	if err != nil {
		return 0, nil, err
	}
	text, err := s.c.Keys().PublicKeyPEM(ctx, name, k.LatestVersion)
	if err != nil {
		return 0, nil, err
	}
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return 0, nil, fail(KeyTypeInconsistent, "key %s has no public key", name)
	}
	pub, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if ec, ok := pub.(*ecdsa.PublicKey); err == nil && ok {
		return k.LatestVersion, ec, nil
	}
	return 0, nil, fail(KeyTypeInconsistent, "key %s is not an SM2 key", name)
}

// sign signs input (a 32-byte digest when prehashed) with version of key
// (0: the latest) and returns the DER signature.
func (s *server) sign(ctx context.Context, key string, input []byte, prehashed bool, version int) ([]byte, error) {
	r, err := s.c.Crypto().Sign(ctx, key, sdk.SignRequest{Input: input, Prehashed: prehashed, Version: version})
	return r.Signature, err
}

func (s *server) verify(ctx context.Context, key string, input, der []byte, prehashed bool, version int) (bool, error) {
	r, err := s.c.Crypto().Verify(ctx, key, sdk.VerifyRequest{Input: input, Signature: der, Prehashed: prehashed, Version: version})
	return r.Valid, err
}

// encrypt encrypts pt with key: SM4-GCM bound to aad for an sm4 key, SM2
// in form ("asn1", "c1c3c2") for an sm2 key. The answer is mima's
// ciphertext "mima:v<N>:<base64>".
func (s *server) encrypt(ctx context.Context, key string, pt, aad []byte, form string) (string, error) {
	r, err := s.c.Crypto().Encrypt(ctx, key, sdk.EncryptRequest{Plaintext: pt, AAD: aad, SM2Format: form})
	return r.Ciphertext, err
}

func (s *server) decrypt(ctx context.Context, key, ct string, aad []byte) ([]byte, error) {
	r, err := s.c.Crypto().Decrypt(ctx, key, sdk.DecryptRequest{Ciphertext: ct, AAD: aad})
	return r.Plaintext, err
}

// decryptSM2 decrypts an SM2 ciphertext (either form) with key. It names
// no key version: the versions the key still decrypts with are tried
// from the latest (a wrong version fails SM2's hash check).
func (s *server) decryptSM2(ctx context.Context, key string, payload []byte) ([]byte, error) {
	k, err := s.c.Keys().Get(ctx, key)
	if err != nil {
		return nil, err
	}
	b64 := base64.StdEncoding.EncodeToString(payload)
	for v := k.LatestVersion; v >= max(k.MinDecryptionVersion, 1); v-- {
		pt, err := s.decrypt(ctx, key, fmt.Sprintf("mima:v%d:%s", v, b64), nil)
		if !errors.Is(err, sdk.ErrDecryptFailed) {
			return pt, err
		}
	}
	return nil, fail(EncryptedDataInvalid, "no version of key %s decrypts the data", key)
}

// payload is the binary part of mima's ciphertext "mima:v<N>:<base64>".
func payload(ct string) ([]byte, error) {
	i := strings.LastIndexByte(ct, ':')
	if !strings.HasPrefix(ct, "mima:v") || i < 0 {
		return nil, fail(FunctionFailed, "unexpected ciphertext form from the server")
	}
	b, err := base64.StdEncoding.DecodeString(ct[i+1:])
	if err != nil {
		return nil, &Error{RV: FunctionFailed, Err: err}
	}
	return b, nil
}

// certificate is the DER certificate mima issued for key; nil when the
// key has none or the token may not read it.
func (s *server) certificate(ctx context.Context, key string) ([]byte, error) {
	c, err := s.c.Certs().OfKey(ctx, key)
	if errors.Is(err, sdk.ErrCertificateNotFound) || errors.Is(err, sdk.ErrPermissionDenied) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode([]byte(c.Certificate))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fail(FunctionFailed, "the certificate of key %s is not PEM", key)
	}
	return block.Bytes, nil
}

func (s *server) random(ctx context.Context, b []byte) error { return sdf.Random(ctx, s.c, b) }

func (s *server) createKey(ctx context.Context, name, typ string) error {
	_, err := s.c.Keys().Create(ctx, sdk.CreateKeyRequest{Name: name, Type: sdk.KeyType(typ)})
	return err
}
