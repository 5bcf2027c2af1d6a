package authn

import (
	"context"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
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
	// The other live root tokens are found in the cache; the revocation
	// is conditioned on the stored record of the one that lets it go on,
	// so of two root tokens revoking themselves at once, one finds the
	// other changed and tries again.
	var others []string
	err := s.eachToken(ctx, func(tok *Token) error {
		if tok.Root && tok.Accessor != caller.Accessor && s.live(tok) == nil {
			others = append(others, tok.Accessor)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.revoke(ctx, caller.Accessor, func(tx storage.Backend) error {
		for _, acc := range others {
			tok, err := readToken(ctx, tx, acc)
			if fault.Is(err, fault.TokenNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if s.live(tok) == nil {
				return nil
			}
		}
		return fault.New(fault.LastRootToken, "this is the only live root token: generate another (mima operator generate-root) before revoking it")
	})
}
