package authn

import (
	"context"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
)

// TokenLength is the length in bytes of every token that mima issues
// ("mima." + accessor + "." + secret); a generate-root one-time pad has
// this length.
var TokenLength = len(tokenScheme) + b64.EncodedLen(accessorBytes) + 1 + b64.EncodedLen(secretBytes)

// CheckRootTTL refuses a root token lifetime other than zero (no expiry)
// or a positive duration up to MaxTTL.
func CheckRootTTL(ttl time.Duration) error {
	if ttl < 0 || ttl > MaxTTL {
		return fault.New(fault.InvalidArgument, "the root token ttl must be positive and at most %s (or unset: no expiry)", MaxTTL)
	}
	return nil
}

// IssueRoot creates a root token. A zero ttl means it does not expire.
// Only initialisation and the generate-root flow (a quorum of key shares)
// call it.
func (s *Service) IssueRoot(ctx context.Context, ttl time.Duration) (Issued, error) {
	if err := CheckRootTTL(ttl); err != nil {
		return Issued{}, err
	}
	tok := &Token{Root: true, Policies: []string{RootPolicy}, DisplayName: "root"}
	if ttl > 0 {
		tok.ExpiresAt = s.now().Add(ttl).UTC()
	}
	return s.issue(ctx, tok, nil)
}

// RevokeRoot revokes the root token caller, and every token it created,
// provided another live root token exists: mima never revokes its last
// root token (code last_root_token). Two root tokens revoking themselves
// at once cannot both succeed.
func (s *Service) RevokeRoot(ctx context.Context, caller *Token) error {
	if !caller.Root {
		return fault.New(fault.PermissionDenied, "only a root token may revoke itself as root")
	}
	if err := s.rootM.Lock(ctx, s.store); err != nil {
		return err
	}
	defer s.rootM.Unlock()
	now := s.now()
	other := false
	err := s.eachToken(ctx, func(tok *Token) error {
		live := tok.RevokedAt.IsZero() && (tok.ExpiresAt.IsZero() || now.Before(tok.ExpiresAt))
		other = other || tok.Root && live && tok.Accessor != caller.Accessor
		return nil
	})
	if err != nil {
		return err
	}
	if !other {
		return fault.New(fault.LastRootToken, "this is the only live root token: generate another (mima operator generate-root) before revoking it")
	}
	return s.RevokeToken(ctx, "", caller.Accessor)
}
