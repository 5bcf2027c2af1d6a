package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
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
	// Read the stored record, not the cache, in a transaction conditioned
	// on it: a revocation, here or on another node, is never undone by
	// writing back a live copy.
	var renewed Token
	err := storage.Atomic(ctx, &s.store, func(tx storage.Backend) error {
		cur, err := readToken(ctx, tx, tok.Accessor)
		if err != nil {
			return err
		}
		now := s.now()
		if !cur.RevokedAt.IsZero() {
			return fault.New(fault.TokenRevoked, "token has been revoked")
		}
		if !cur.ExpiresAt.IsZero() && !now.Before(cur.ExpiresAt) {
			return fault.New(fault.TokenExpired, "token has expired")
		}
		expires := now.Add(increment).UTC()
		if expires.After(cur.RenewUntil) {
			expires = cur.RenewUntil
		}
		if cur.Parent != "" {
			parent, err := s.token(ctx, cur.Parent)
			if err != nil {
				return err
			}
			if !parent.ExpiresAt.IsZero() && expires.After(parent.ExpiresAt) {
				expires = parent.ExpiresAt
			}
		}
		renewed = *cur
		renewed.ExpiresAt = expires
		b, err := json.Marshal(&renewed)
		if err != nil {
			return err
		}
		return tx.Put(ctx, paths.Tokens+cur.Accessor, b)
	})
	if err != nil {
		return nil, err
	}
	s.tokens.Put(paths.Token{Accessor: renewed.Accessor}, &renewed)
	return &renewed, nil
}

// storedToken reads a token record from the store, bypassing the cache.
func (s *Service) storedToken(ctx context.Context, accessor string) (*Token, error) {
	return readToken(ctx, &s.store, accessor)
}

// readToken reads a token record from st (a transaction, for one whose
// writes depend on the record).
func readToken(ctx context.Context, st storage.Backend, accessor string) (*Token, error) {
	b, err := st.Get(ctx, paths.Tokens+accessor)
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
