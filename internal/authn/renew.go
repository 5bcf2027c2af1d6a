package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

// AdminTTL is the lifetime of a tenant's admin token, renewed by
// RenewToken up to MaxTTL after its creation.
const AdminTTL = 30 * 24 * time.Hour

// RenewToken extends the life of the renewable token tok (a tenant admin
// token) to now + increment (0: the token's own TTL), never beyond its
// RenewUntil, a year after it was created, nor beyond its parent's expiry.
// Other tokens are not renewable: their creator chose their lifetime.
func (s *Service) RenewToken(ctx context.Context, tok *Token, increment time.Duration) (*Token, error) {
	if tok.RenewUntil.IsZero() {
		return nil, fault.New(fault.InvalidArgument, "this token is not renewable; only tenant admin tokens are")
	}
	if increment == 0 {
		increment = tok.TTL
	}
	if increment <= 0 || increment > MaxTTL {
		return nil, fault.New(fault.InvalidArgument, "increment must be positive and at most %s", MaxTTL)
	}
	if err := s.writeM.Lock(ctx, s.store); err != nil {
		return nil, err
	}
	defer s.writeM.Unlock()
	// Read the stored record, not the cache: a revocation on another node
	// must not be undone by writing back a stale live copy.
	cur, err := s.storedToken(ctx, tok.Accessor)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !cur.RevokedAt.IsZero() {
		return nil, fault.New(fault.TokenRevoked, "token has been revoked")
	}
	if !cur.ExpiresAt.IsZero() && !now.Before(cur.ExpiresAt) {
		return nil, fault.New(fault.TokenExpired, "token has expired")
	}
	expires := now.Add(increment).UTC()
	if expires.After(cur.RenewUntil) {
		expires = cur.RenewUntil
	}
	if cur.Parent != "" {
		parent, err := s.token(ctx, cur.Parent)
		if err != nil {
			return nil, err
		}
		if !parent.ExpiresAt.IsZero() && expires.After(parent.ExpiresAt) {
			expires = parent.ExpiresAt
		}
	}
	renewed := *cur
	renewed.ExpiresAt = expires
	b, err := json.Marshal(&renewed)
	if err != nil {
		return nil, err
	}
	if err := s.store.Put(ctx, tokenPrefix+cur.Accessor, b); err != nil {
		return nil, err
	}
	s.tokens.Store(cur.Accessor, &renewed)
	return &renewed, nil
}

// storedToken reads a token record from the store, bypassing the cache.
func (s *Service) storedToken(ctx context.Context, accessor string) (*Token, error) {
	b, err := s.store.Get(ctx, tokenPrefix+accessor)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fault.New(fault.TokenNotFound, "no token with that accessor")
	}
	if err != nil {
		return nil, err
	}
	var tok Token
	if err := json.Unmarshal(b, &tok); err != nil {
		return nil, fmt.Errorf("authn: token record: %w", err)
	}
	return &tok, nil
}
