package authn

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// DefaultTTL is the lifetime of a token created without a TTL.
const DefaultTTL = 24 * time.Hour

// MaxTTL is the longest lifetime a token may be given.
const MaxTTL = 365 * 24 * time.Hour

// MaxTokenDepth is how deep a token may stand in its tree. The root token
// and a tenant's admin tokens have no parent and are depth 0; a child is
// one deeper than its parent; a token MaxTokenDepth deep cannot create a
// child.
const MaxTokenDepth = 16

// LastUseGranularity is how coarse a token's LastUsedAt is: a node
// records a use only when the stored one is older than this.
const LastUseGranularity = time.Hour

const (
	tokenScheme   = "mima."
	accessorBytes = 12
	secretBytes   = 32
	// maxAncestry bounds the walk up a token's parents. Tokens created
	// since the depth cap have at most MaxTokenDepth ancestors, older ones
	// maybe a few more; only a corrupt record naming a descendant as its
	// parent could reach this bound.
	maxAncestry = 1024
)

var b64 = base64.RawURLEncoding.Strict()

// Token is a stored token record. SecretHash is SM3 of the secret part.
type Token struct {
	Accessor    string    `json:"accessor"`
	Tenant      string    `json:"tenant,omitempty"`
	Root        bool      `json:"root,omitempty"`
	Policies    []string  `json:"policies"`
	Parent      string    `json:"parent,omitempty"`
	Depth       int       `json:"depth,omitempty"`
	DisplayName string    `json:"display_name,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	RevokedAt   time.Time `json:"revoked_at,omitzero"`
	SecretHash  []byte    `json:"secret_hash"`
	// TTL and RenewUntil are set on renewable tokens (see RenewToken).
	TTL        time.Duration `json:"ttl,omitempty"`
	RenewUntil time.Time     `json:"renew_until,omitzero"`
	// LastUsedAt is when the token last authenticated, to within
	// LastUseGranularity (see noteUse); zero if never.
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// Issued is a newly created token: the bearer string, shown once, and its
// record.
type Issued struct {
	Token string
	Info  *Token
}

// TokenRequest describes a token to create.
type TokenRequest struct {
	Policies    []string
	TTL         time.Duration
	DisplayName string
}

// Authenticate checks a bearer token and returns its record. Errors carry
// the codes unauthenticated, token_expired or token_revoked; a token is
// refused as revoked when any of its ancestors is revoked or gone, so a
// child created while its parent was being revoked dies with it. A
// success records the token's last use, coarsely (see noteUse).
func (s *Service) Authenticate(ctx context.Context, bearer string) (*Token, error) {
	if bearer == "" {
		return nil, fault.New(fault.Unauthenticated, "missing token")
	}
	if _, err := s.store.Backend(); err != nil {
		return nil, err // sealed: no answer from the cache either
	}
	accessor, secret, ok := parseToken(bearer)
	if !ok {
		accessor, secret = staticAccessor(bearer), []byte(bearer)
	}
	tok, err := s.token(ctx, accessor)
	if fault.Is(err, fault.TokenNotFound) {
		return nil, fault.New(fault.Unauthenticated, "unknown token")
	}
	if err != nil {
		return nil, err
	}
	sum := sm3.Sum(secret)
	if subtle.ConstantTimeCompare(sum[:], tok.SecretHash) != 1 {
		return nil, fault.New(fault.Unauthenticated, "unknown token")
	}
	if err := s.live(tok); err != nil {
		return nil, err
	}
	if _, err := s.ancestry(ctx, tok); err != nil {
		return nil, err
	}
	if err := s.checkTenantLive(ctx, tok); err != nil {
		return nil, err
	}
	return s.noteUse(ctx, tok), nil
}

// live refuses a revoked or expired token.
func (s *Service) live(tok *Token) error {
	if !tok.RevokedAt.IsZero() {
		return fault.New(fault.TokenRevoked, "token has been revoked")
	}
	if !tok.ExpiresAt.IsZero() && !s.now().Before(tok.ExpiresAt) {
		return fault.New(fault.TokenExpired, "token has expired")
	}
	return nil
}

// ancestry walks up tok's parents, through the cache that coherence keeps
// in step with other nodes, and returns how many there are. It refuses
// tok with code token_revoked when one of them is revoked or no longer
// exists (tidying deletes a parent only after its children).
func (s *Service) ancestry(ctx context.Context, tok *Token) (int, error) {
	depth := 0
	for parent := tok.Parent; parent != ""; depth++ {
		if depth == maxAncestry {
			return 0, fmt.Errorf("authn: token %s has more than %d ancestors", tok.Accessor, maxAncestry)
		}
		p, err := s.token(ctx, parent)
		if fault.Is(err, fault.TokenNotFound) {
			return 0, fault.New(fault.TokenRevoked, "a token that this token descends from no longer exists")
		}
		if err != nil {
			return 0, err
		}
		if !p.RevokedAt.IsZero() {
			return 0, fault.New(fault.TokenRevoked, "a token that this token descends from has been revoked")
		}
		parent = p.Parent
	}
	return depth, nil
}

// parseToken splits "mima.<accessor>.<secret>".
func parseToken(bearer string) (accessor string, secret []byte, ok bool) {
	rest, found := strings.CutPrefix(bearer, tokenScheme)
	if !found {
		return "", nil, false
	}
	accessor, enc, found := strings.Cut(rest, ".")
	if !found || !validAccessor(accessor) || len(enc) != b64.EncodedLen(secretBytes) {
		return "", nil, false
	}
	secret, err := b64.DecodeString(enc)
	if err != nil || len(secret) != secretBytes {
		return "", nil, false
	}
	return accessor, secret, true
}

// validAccessor reports whether a is shaped like an accessor.
func validAccessor(a string) bool {
	if len(a) != b64.EncodedLen(accessorBytes) {
		return false
	}
	_, err := b64.DecodeString(a)
	return err == nil
}

// staticAccessor names a root token whose text the operator chose (the
// development server's --dev-root-token) by a hash of that text.
func staticAccessor(token string) string {
	sum := sm3.Sum([]byte("mima static token\x00" + token))
	sum[0] &= 0x7f // as in issue: never a leading '-'
	return b64.EncodeToString(sum[:accessorBytes])
}

// CreateStaticRoot stores a root token whose text is chosen by the caller.
// Only the development server uses it; the text is hashed like any secret.
func (s *Service) CreateStaticRoot(ctx context.Context, token string) error {
	if len(token) < 4 {
		return fault.New(fault.InvalidArgument, "a fixed root token needs at least 4 characters")
	}
	sum := sm3.Sum([]byte(token))
	tok := &Token{Accessor: staticAccessor(token), Root: true, Policies: []string{RootPolicy}, DisplayName: "dev root", SecretHash: sum[:], CreatedAt: s.now().UTC()}
	b, err := json.Marshal(tok)
	if err != nil {
		return err
	}
	if err := s.store.Put(ctx, paths.Tokens+tok.Accessor, b); err != nil {
		return err
	}
	s.tokens.Put(paths.Token{Accessor: tok.Accessor}, tok)
	return nil
}

// CreateToken creates a token in tenant on behalf of caller. The caller
// must hold the admin policy (or be root) to grant any policy of the
// tenant; otherwise it may grant only policies it holds itself. A token
// never outlives the token that created it, is revoked with it, and stands
// one deeper than it: a caller MaxTokenDepth deep is refused with
// token_too_deep.
func (s *Service) CreateToken(ctx context.Context, caller *Token, tenant string, req TokenRequest) (Issued, error) {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return Issued{}, err
	}
	if len(req.Policies) == 0 {
		return Issued{}, fault.New(fault.InvalidArgument, "a token needs at least one policy")
	}
	// Counted, not read from the record: tokens stored before the cap
	// carry no depth.
	above, err := s.ancestry(ctx, caller)
	if err != nil {
		return Issued{}, err
	}
	if above >= MaxTokenDepth {
		return Issued{}, fault.New(fault.TokenTooDeep, "a token %d deep cannot create a child", above)
	}
	depth := above + 1
	for _, p := range req.Policies {
		if p == RootPolicy {
			return Issued{}, fault.New(fault.PermissionDenied, "the root policy cannot be granted")
		}
		if !caller.Root && !caller.hasPolicy(AdminPolicy) && !caller.hasPolicy(p) {
			return Issued{}, fault.New(fault.PermissionDenied, "a token may only grant policies it holds itself: %q", p)
		}
		if p == AdminPolicy {
			continue
		}
		if _, err := s.Policy(ctx, tenant, p); err != nil {
			return Issued{}, err
		}
	}
	ttl := req.TTL
	switch {
	case ttl == 0:
		ttl = DefaultTTL
	case ttl < 0 || ttl > MaxTTL:
		return Issued{}, fault.New(fault.InvalidArgument, "ttl must be positive and at most %s", MaxTTL)
	}
	expires := s.now().Add(ttl).UTC()
	tok := &Token{
		Tenant:      tenant,
		Policies:    slices.Compact(slices.Sorted(slices.Values(req.Policies))),
		DisplayName: req.DisplayName,
		ExpiresAt:   expires,
		Depth:       depth,
	}
	tok.Parent = caller.Accessor
	if !caller.ExpiresAt.IsZero() && expires.After(caller.ExpiresAt) {
		tok.ExpiresAt = caller.ExpiresAt
	}
	return s.issue(ctx, tok, func(tx storage.Backend) ([]storage.Op, error) {
		return nil, liveTenant(ctx, tx, tenant)
	})
}

// issue gives tok a fresh accessor and secret and stores it, with its
// place in its parent's child index, in one transaction. The transaction
// is conditioned on the stored parent being live, so that no live child
// is added to a tree whose revocation has passed its parent, and on what
// check (if not nil) reads; check returns further writes.
func (s *Service) issue(ctx context.Context, tok *Token, check func(tx storage.Backend) ([]storage.Op, error)) (Issued, error) {
	acc := make([]byte, accessorBytes)
	secret := make([]byte, secretBytes)
	if _, err := io.ReadFull(s.rand, acc); err != nil {
		return Issued{}, fmt.Errorf("authn: reading randomness: %w", err)
	}
	if _, err := io.ReadFull(s.rand, secret); err != nil {
		return Issued{}, fmt.Errorf("authn: reading randomness: %w", err)
	}
	// Accessors are command-line arguments (mima token lookup ACCESSOR):
	// one starting with '-' would read as a flag. Clearing the top bit keeps
	// the first character in A–Z, a–f, at the cost of one bit of 96.
	acc[0] &= 0x7f
	tok.Accessor = b64.EncodeToString(acc)
	sum := sm3.Sum(secret)
	tok.SecretHash = sum[:]
	tok.CreatedAt = s.now().UTC()
	b, err := json.Marshal(tok)
	if err != nil {
		return Issued{}, err
	}
	err = storage.Atomic(ctx, &s.store, func(tx storage.Backend) error {
		var ops []storage.Op
		if check != nil {
			var err error
			if ops, err = check(tx); err != nil {
				return err
			}
		}
		if tok.Parent != "" {
			if err := s.liveParent(ctx, tx, tok.Parent); err != nil {
				return err
			}
			ops = append(ops, storage.Op{Key: childPrefix + tok.Parent + "/" + tok.Accessor})
		}
		return tx.Batch(ctx, append(ops, storage.Op{Key: paths.Tokens + tok.Accessor, Value: b}))
	})
	if err != nil {
		return Issued{}, err
	}
	s.tokens.Put(paths.Token{Accessor: tok.Accessor}, tok)
	return Issued{Token: tokenScheme + tok.Accessor + "." + b64.EncodeToString(secret), Info: tok}, nil
}

// liveParent refuses a parent that tx holds revoked (code token_revoked)
// or expired (token_expired), or no longer holds (token_revoked).
func (s *Service) liveParent(ctx context.Context, tx storage.Backend, accessor string) error {
	p, err := readToken(ctx, tx, accessor)
	if fault.Is(err, fault.TokenNotFound) {
		return fault.New(fault.TokenRevoked, "the creating token no longer exists")
	}
	if err != nil {
		return err
	}
	return s.live(p)
}

// token loads a token record by accessor, from the cache when it can,
// and caches it.
func (s *Service) token(ctx context.Context, accessor string) (*Token, error) {
	k := paths.Token{Accessor: accessor}
	if tok, ok := s.tokens.Get(k); ok {
		return tok, nil
	}
	gen := s.tokens.Generation()
	tok, err := s.storedToken(ctx, accessor)
	if err == nil {
		s.tokens.Add(k, tok, gen)
	}
	return tok, err
}

// peekToken loads a token record by accessor, from the cache when it can,
// without caching it.
func (s *Service) peekToken(ctx context.Context, accessor string) (*Token, error) {
	if tok, ok := s.tokens.Get(paths.Token{Accessor: accessor}); ok {
		return tok, nil
	}
	return s.storedToken(ctx, accessor)
}

// LookupToken returns the token with accessor in tenant. A token of another
// tenant is reported as absent.
func (s *Service) LookupToken(ctx context.Context, tenant, accessor string) (*Token, error) {
	tok, err := s.token(ctx, accessor)
	if err != nil {
		return nil, err
	}
	if tok.Tenant != tenant {
		return nil, fault.New(fault.TokenNotFound, "no token with that accessor")
	}
	return tok, nil
}

func (t *Token) hasPolicy(name string) bool { return slices.Contains(t.Policies, name) }
