package authn

import (
	"context"

	"github.com/mimacrypto/mima/internal/fault"
)

// CreateTokenUnder creates a token in tenant as a child of the stored
// token owner, as if owner had asked: the token gets only policies owner
// holds and never outlives it. mima uses it for the tokens of a
// certificate login, whose owner is the login rule's owner token. An owner
// that is revoked or expired issues nothing.
func (s *Service) CreateTokenUnder(ctx context.Context, tenant, owner string, req TokenRequest) (Issued, error) {
	tok, err := s.LookupToken(ctx, tenant, owner)
	if fault.Is(err, fault.TokenNotFound) {
		return Issued{}, fault.New(fault.TokenRevoked, "the owner token of this grant no longer exists")
	}
	if err != nil {
		return Issued{}, err
	}
	if err := s.live(tok); err != nil {
		return Issued{}, err
	}
	return s.CreateToken(ctx, tok, tenant, req)
}
