package authn

import (
	"context"
	"encoding/json"
	"time"

	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// noteUse records that tok authenticated now when its last use is unset
// or at least LastUseGranularity old, and returns the token to answer
// with. The record is written in one transaction conditioned on the
// stored record, so a revocation or renewal is never undone, and a node
// tries at most once per token per granularity, so a warm token reads
// and writes nothing. The write is best effort: when it fails (a
// conflict, a failing store, a cancelled request) the use is lost and
// the request still succeeds. Last use is a hint for reports, never an
// authorisation decision.
func (s *Service) noteUse(ctx context.Context, tok *Token) *Token {
	now := s.now().UTC()
	if now.Sub(tok.LastUsedAt) < LastUseGranularity || !s.claimUse(tok.Accessor, now) {
		return tok
	}
	var used *Token
	err := storage.Atomic(ctx, &s.store, func(tx storage.Backend) error {
		cur, err := readToken(ctx, tx, tok.Accessor)
		if err != nil {
			return err
		}
		used = cur
		if now.Sub(cur.LastUsedAt) < LastUseGranularity {
			return nil // another node recorded it
		}
		cur.LastUsedAt = now
		b, err := json.Marshal(cur)
		if err != nil {
			return err
		}
		return tx.Put(ctx, paths.Tokens+cur.Accessor, b)
	})
	if err != nil {
		return tok // a lost last use is acceptable; the caller is authenticated
	}
	s.tokens.Put(paths.Token{Accessor: used.Accessor}, used)
	if !used.RevokedAt.IsZero() {
		return tok // revoked since it was checked: that request already passed
	}
	return used
}

// claimUse reports whether this node should record a use of accessor at
// now: it has not tried to within LastUseGranularity.
func (s *Service) claimUse(accessor string, now time.Time) bool {
	s.triedMu.Lock()
	defer s.triedMu.Unlock()
	k := paths.Token{Accessor: accessor}
	if at, ok := s.tried.Get(k); ok && now.Sub(at) < LastUseGranularity {
		return false
	}
	s.tried.Put(k, now)
	return true
}
