package p11

import (
	"context"
	"crypto/ecdsa"
	"errors"

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

// sign signs input (a 32-byte digest when prehashed) with key and
// returns the DER signature.
func (s *server) sign(ctx context.Context, key string, input []byte, prehashed bool) ([]byte, error) {
	r, err := s.c.Crypto().Sign(ctx, key, sdk.SignRequest{Input: input, Prehashed: prehashed})
	return r.Signature, err
}

func (s *server) verify(ctx context.Context, key string, input, der []byte, prehashed bool) (bool, error) {
	r, err := s.c.Crypto().Verify(ctx, key, sdk.VerifyRequest{Input: input, Signature: der, Prehashed: prehashed})
	return r.Valid, err
}

func (s *server) random(ctx context.Context, b []byte) error { return sdf.Random(ctx, s.c, b) }

func (s *server) createKey(ctx context.Context, name, typ string) error {
	_, err := s.c.Keys().Create(ctx, sdk.CreateKeyRequest{Name: name, Type: sdk.KeyType(typ)})
	return err
}
