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
)

// DefaultTTL is the lifetime of a token created without a TTL.
const DefaultTTL = 24 * time.Hour

// MaxTTL is the longest lifetime a token may be given.
const MaxTTL = 365 * 24 * time.Hour

const (
	tokenScheme    = "mima."
	accessorBytes  = 12
	secretBytes    = 32
	maxRevokeDepth = 64
)

var b64 = base64.RawURLEncoding.Strict()

// Token is a stored token record. SecretHash is SM3 of the secret part.
type Token struct {
	Accessor    string    `json:"accessor"`
	Tenant      string    `json:"tenant,omitempty"`
	Root        bool      `json:"root,omitempty"`
	Policies    []string  `json:"policies"`
	Parent      string    `json:"parent,omitempty"`
	DisplayName string    `json:"display_name,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	RevokedAt   time.Time `json:"revoked_at,omitzero"`
	SecretHash  []byte    `json:"secret_hash"`
	// TTL and RenewUntil are set on renewable tokens (see RenewToken).
	TTL        time.Duration `json:"ttl,omitempty"`
	RenewUntil time.Time     `json:"renew_until,omitzero"`
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
// the codes unauthenticated, token_expired or token_revoked.
func (s *Service) Authenticate(ctx context.Context, bearer string) (*Token, error) {
	if bearer == "" {
		return nil, fault.New(fault.Unauthenticated, "missing token")
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
	if !tok.RevokedAt.IsZero() {
		return nil, fault.New(fault.TokenRevoked, "token has been revoked")
	}
	if !tok.ExpiresAt.IsZero() && !s.now().Before(tok.ExpiresAt) {
		return nil, fault.New(fault.TokenExpired, "token has expired")
	}
	if err := s.checkTenantLive(ctx, tok); err != nil {
		return nil, err
	}
	return tok, nil
}

// parseToken splits "mima.<accessor>.<secret>".
func parseToken(bearer string) (accessor string, secret []byte, ok bool) {
	rest, found := strings.CutPrefix(bearer, tokenScheme)
	if !found {
		return "", nil, false
	}
	accessor, enc, found := strings.Cut(rest, ".")
	if !found || len(accessor) != b64.EncodedLen(accessorBytes) || len(enc) != b64.EncodedLen(secretBytes) {
		return "", nil, false
	}
	secret, err := b64.DecodeString(enc)
	if err != nil || len(secret) != secretBytes {
		return "", nil, false
	}
	return accessor, secret, true
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
	if err := s.store.Put(ctx, tokenPrefix+tok.Accessor, b); err != nil {
		return err
	}
	s.tokens.Store(tok.Accessor, tok)
	return nil
}

// CreateToken creates a token in tenant on behalf of caller. The caller
// must hold the admin policy (or be root) to grant any policy of the
// tenant; otherwise it may grant only policies it holds itself. A token
// never outlives the token that created it. A nil caller is mima itself,
// issuing a token to an identity that logged in with a certificate: the
// tenant's login rules chose the policies, and the token has no parent.
func (s *Service) CreateToken(ctx context.Context, caller *Token, tenant string, req TokenRequest) (Issued, error) {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return Issued{}, err
	}
	if len(req.Policies) == 0 {
		return Issued{}, fault.New(fault.InvalidArgument, "a token needs at least one policy")
	}
	for _, p := range req.Policies {
		if p == RootPolicy {
			return Issued{}, fault.New(fault.PermissionDenied, "the root policy cannot be granted")
		}
		if caller != nil && !caller.Root && !caller.hasPolicy(AdminPolicy) && !caller.hasPolicy(p) {
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
	}
	if caller != nil {
		tok.Parent = caller.Accessor
		if !caller.ExpiresAt.IsZero() && expires.After(caller.ExpiresAt) {
			tok.ExpiresAt = caller.ExpiresAt
		}
	}
	return s.issue(ctx, tok, nil)
}

// issue gives tok a fresh accessor and secret and stores it, together with
// its place in its parent's child index and any extra ops, in one batch.
func (s *Service) issue(ctx context.Context, tok *Token, extra []storage.Op) (Issued, error) {
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
	ops := append(extra, storage.Op{Key: tokenPrefix + tok.Accessor, Value: b})
	if tok.Parent != "" {
		ops = append(ops, storage.Op{Key: childPrefix + tok.Parent + "/" + tok.Accessor, Value: nil})
	}
	if err := s.store.Batch(ctx, ops); err != nil {
		return Issued{}, err
	}
	s.tokens.Store(tok.Accessor, tok)
	return Issued{Token: tokenScheme + tok.Accessor + "." + b64.EncodeToString(secret), Info: tok}, nil
}

// token loads a token record by accessor, from the cache when it can,
// and caches it.
func (s *Service) token(ctx context.Context, accessor string) (*Token, error) {
	tok, err := s.peekToken(ctx, accessor)
	if err == nil {
		s.tokens.Store(accessor, tok)
	}
	return tok, err
}

// peekToken loads a token record by accessor, from the cache when it can,
// without caching it.
func (s *Service) peekToken(ctx context.Context, accessor string) (*Token, error) {
	if v, ok := s.tokens.Load(accessor); ok {
		return v.(*Token), nil
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

// RevokeToken revokes the token with accessor in tenant and every token it
// created, transitively. Revoking a revoked token is not an error.
func (s *Service) RevokeToken(ctx context.Context, tenant, accessor string) error {
	tok, err := s.LookupToken(ctx, tenant, accessor)
	if err != nil {
		return err
	}
	if err := s.writeM.Lock(ctx, s.store); err != nil {
		return err
	}
	defer s.writeM.Unlock()
	return s.revoke(ctx, tok, s.now().UTC(), 0)
}

func (s *Service) revoke(ctx context.Context, tok *Token, at time.Time, depth int) error {
	if depth > maxRevokeDepth {
		return fmt.Errorf("authn: token tree deeper than %d", maxRevokeDepth)
	}
	children, err := s.store.List(ctx, childPrefix+tok.Accessor+"/", "", 0)
	if err != nil {
		return err
	}
	for _, c := range children {
		child, err := s.token(ctx, c[strings.LastIndexByte(c, '/')+1:])
		if fault.Is(err, fault.TokenNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := s.revoke(ctx, child, at, depth+1); err != nil {
			return err
		}
	}
	if !tok.RevokedAt.IsZero() {
		return nil
	}
	revoked := *tok
	revoked.RevokedAt = at
	b, err := json.Marshal(&revoked)
	if err != nil {
		return err
	}
	if err := s.store.Put(ctx, tokenPrefix+tok.Accessor, b); err != nil {
		return err
	}
	s.tokens.Store(tok.Accessor, &revoked)
	return nil
}

func (t *Token) hasPolicy(name string) bool { return slices.Contains(t.Policies, name) }
