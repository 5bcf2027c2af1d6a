package authn

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// TokenRetention is how long a token record stays after the token expired
// or was revoked: lookups still explain why it fails, and revoking an
// expired parent still reaches its children. Then TidyTokens deletes it.
const TokenRetention = 30 * 24 * time.Hour

// tokenPage is how many token records a listing reads at a time.
const tokenPage = 500

// Token list page sizes.
const (
	DefaultTokenListLimit = 100
	MaxTokenListLimit     = 1000
)

// TokenPage is one page of a tenant's tokens, in accessor order. Next is
// the cursor of the following page, "" at the end. The tokens of every
// tenant share one index and each call examines at most MaxTokenListLimit
// records, so a page may hold fewer than its limit (even none) while Next
// is set.
type TokenPage struct {
	Tokens []*Token
	Next   string
}

// ListTokens returns the page of tenant's tokens (live, expired and
// revoked, until TidyTokens deletes them) that follows the accessor after
// ("" for the first), at most limit of them (0 means
// DefaultTokenListLimit).
func (s *Service) ListTokens(ctx context.Context, tenant, after string, limit int) (TokenPage, error) {
	switch {
	case limit == 0:
		limit = DefaultTokenListLimit
	case limit < 0 || limit > MaxTokenListLimit:
		return TokenPage{}, fault.New(fault.InvalidArgument, "the page size must be 1 to %d", MaxTokenListLimit)
	}
	from := ""
	if after != "" {
		if !validAccessor(after) {
			return TokenPage{}, fault.New(fault.InvalidArgument, "the list cursor is not a token accessor")
		}
		from = paths.Tokens + after
	}
	keys, err := s.store.List(ctx, paths.Tokens, from, MaxTokenListLimit)
	if err != nil {
		return TokenPage{}, err
	}
	page := TokenPage{Tokens: []*Token{}}
	examined := 0
	for _, k := range keys {
		if len(page.Tokens) == limit {
			break
		}
		examined++
		tok, err := s.peekToken(ctx, strings.TrimPrefix(k, paths.Tokens))
		if fault.Is(err, fault.TokenNotFound) {
			continue // tidied since listed
		}
		if err != nil {
			return TokenPage{}, fmt.Errorf("authn: token %s: %w", k, err)
		}
		if tok.Tenant == tenant {
			page.Tokens = append(page.Tokens, tok)
		}
	}
	if examined > 0 && (examined < len(keys) || len(keys) == MaxTokenListLimit) {
		page.Next = strings.TrimPrefix(keys[examined-1], paths.Tokens)
	}
	return page, nil
}

// TidyTokens deletes the records of tokens that expired or were revoked
// more than TokenRetention before now and have no children left, with
// their place in their parent's child index; a tree goes leaf by leaf
// over successive runs. It returns how many it deleted. It first finishes
// every revocation that a crash or a failed write cut short. The node that
// runs the cluster's jobs calls it.
func (s *Service) TidyTokens(ctx context.Context, now time.Time) (int, error) {
	if err := s.finishRevocations(ctx); err != nil {
		return 0, fmt.Errorf("authn: finishing revocations: %w", err)
	}
	deleted := 0
	err := s.eachToken(ctx, func(tok *Token) error {
		if !tok.ended(now.Add(-TokenRetention)) {
			return nil
		}
		children, err := s.store.List(ctx, childPrefix+tok.Accessor+"/", "", 1)
		if err != nil || len(children) > 0 {
			return err
		}
		// Conditioned on the stored record, so a token renewed since it
		// was read stays; an ended token can gain no child (issue), so
		// the empty listing stays true.
		err = storage.Atomic(ctx, &s.store, func(tx storage.Backend) error {
			cur, err := readToken(ctx, tx, tok.Accessor)
			if err != nil || !cur.ended(now.Add(-TokenRetention)) {
				return err
			}
			ops := []storage.Op{{Key: paths.Tokens + tok.Accessor, Delete: true}}
			if tok.Parent != "" {
				ops = append(ops, storage.Op{Key: childPrefix + tok.Parent + "/" + tok.Accessor, Delete: true})
			}
			return tx.Batch(ctx, ops)
		})
		if fault.Is(err, fault.TokenNotFound) {
			return nil // tidied elsewhere
		}
		if err != nil {
			return err
		}
		s.tokens.Remove(paths.Token{Accessor: tok.Accessor})
		deleted++
		return nil
	})
	return deleted, err
}

// ended reports whether the token expired or was revoked before t.
func (t *Token) ended(before time.Time) bool {
	expired := !t.ExpiresAt.IsZero() && t.ExpiresAt.Before(before)
	revoked := !t.RevokedAt.IsZero() && t.RevokedAt.Before(before)
	return expired || revoked
}

// eachToken calls f with every token record, a page at a time.
func (s *Service) eachToken(ctx context.Context, f func(*Token) error) error {
	after := ""
	for {
		keys, err := s.store.List(ctx, paths.Tokens, after, tokenPage)
		if err != nil || len(keys) == 0 {
			return err
		}
		after = keys[len(keys)-1]
		for _, k := range keys {
			tok, err := s.peekToken(ctx, strings.TrimPrefix(k, paths.Tokens))
			if fault.Is(err, fault.TokenNotFound) {
				continue // deleted since the listing
			}
			if err != nil {
				return fmt.Errorf("authn: token %s: %w", k, err)
			}
			if err := f(tok); err != nil {
				return err
			}
		}
	}
}
