package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// revocationPrefix holds one intent record per revocation under way, named
// by the accessor at the top of the revoked tree.
const revocationPrefix = "token-revocations/"

// revocation is an intent record: the tree under its accessor is being
// revoked as of At.
type revocation struct {
	At time.Time `json:"at"`
}

// RevokeToken revokes the token with accessor in tenant and every token it
// created, transitively. The token itself is revoked at once, together
// with an intent record; its descendants are then revoked a page at a
// time, without recursion, and the intent is deleted. A revocation cut
// short (a crash, a lost database) is finished by the next TidyTokens.
// Revoking a revoked token is not an error: it revokes whatever of its
// tree is still live.
func (s *Service) RevokeToken(ctx context.Context, tenant, accessor string) error {
	if _, err := s.LookupToken(ctx, tenant, accessor); err != nil {
		return err
	}
	return s.revoke(ctx, accessor, nil)
}

// revoke revokes the token with accessor and its tree. The token is
// marked revoked, with the intent record, in one transaction that check
// (if not nil) may refuse or condition on what it reads.
func (s *Service) revoke(ctx context.Context, accessor string, check func(tx storage.Backend) error) error {
	at := s.now().UTC()
	intent, err := json.Marshal(revocation{At: at})
	if err != nil {
		return err
	}
	var revoked []*Token
	err = storage.Atomic(ctx, &s.store, func(tx storage.Backend) error {
		if check != nil {
			if err := check(tx); err != nil {
				return err
			}
		}
		tok, err := readToken(ctx, tx, accessor)
		if err != nil {
			return err
		}
		var ops []storage.Op
		if ops, revoked, err = revokeOps([]*Token{tok}, at); err != nil {
			return err
		}
		return tx.Batch(ctx, append(ops, storage.Op{Key: revocationPrefix + accessor, Value: intent}))
	})
	if err != nil {
		return err
	}
	s.cacheAll(revoked)
	return s.finishRevocation(ctx, accessor, at)
}

// finishRevocations finishes every revocation that was cut short.
func (s *Service) finishRevocations(ctx context.Context) error {
	keys, err := s.store.List(ctx, revocationPrefix, "", 0)
	if err != nil {
		return err
	}
	for _, k := range keys {
		b, err := s.store.Get(ctx, k)
		if errors.Is(err, storage.ErrNotFound) {
			continue // finished since listed
		}
		if err != nil {
			return err
		}
		var r revocation
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("authn: revocation record %s: %w", k, err)
		}
		if err := s.finishRevocation(ctx, strings.TrimPrefix(k, revocationPrefix), r.At); err != nil {
			return err
		}
	}
	return nil
}

// finishRevocation revokes, as of at, every live descendant of the token
// with accessor, walking the tree with an explicit stack, then deletes
// the intent record. Running it again after a failure, or beside another
// walk of the same tree, is harmless. The walk is complete without a
// lock: it lists a token's children only after that token is stored
// revoked, and a child is stored only on condition that its parent is
// live (issue), so no child appears after its parent's listing.
func (s *Service) finishRevocation(ctx context.Context, accessor string, at time.Time) error {
	stack := []string{accessor}
	for len(stack) > 0 {
		parent := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		prefix := childPrefix + parent + "/"
		after := ""
		for {
			keys, err := s.store.List(ctx, prefix, after, tokenPage)
			if err != nil {
				return err
			}
			if len(keys) == 0 {
				break
			}
			after = keys[len(keys)-1]
			var children, revoked []*Token
			err = storage.Atomic(ctx, &s.store, func(tx storage.Backend) error {
				children = children[:0]
				for _, k := range keys {
					child, err := readToken(ctx, tx, strings.TrimPrefix(k, prefix))
					if fault.Is(err, fault.TokenNotFound) {
						continue // tidied since listed
					}
					if err != nil {
						return err
					}
					children = append(children, child)
				}
				ops, rev, err := revokeOps(children, at)
				if err != nil {
					return err
				}
				revoked = rev
				return tx.Batch(ctx, ops)
			})
			if err != nil {
				return err
			}
			s.cacheAll(revoked)
			for _, child := range children {
				stack = append(stack, child.Accessor)
			}
		}
	}
	return s.store.Delete(ctx, revocationPrefix+accessor)
}

// revokeOps returns the writes that mark the live tokens among toks
// revoked at at, and their revoked records.
func revokeOps(toks []*Token, at time.Time) ([]storage.Op, []*Token, error) {
	var (
		ops     []storage.Op
		revoked []*Token
	)
	for _, tok := range toks {
		if !tok.RevokedAt.IsZero() {
			continue
		}
		r := *tok
		r.RevokedAt = at
		b, err := json.Marshal(&r)
		if err != nil {
			return nil, nil, err
		}
		ops = append(ops, storage.Op{Key: paths.Tokens + r.Accessor, Value: b})
		revoked = append(revoked, &r)
	}
	return ops, revoked, nil
}

// cacheAll caches token records just written.
func (s *Service) cacheAll(toks []*Token) {
	for _, tok := range toks {
		s.tokens.Put(paths.Token{Accessor: tok.Accessor}, tok)
	}
}
