package cms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

// Match is the certificate field a login rule looks at.
type Match string

// Fields a login rule can match.
const (
	// MatchSubject is the subject distinguished name in RFC 2253 form,
	// such as "CN=alice,OU=Finance,O=Acme,C=CN" (case-sensitive).
	MatchSubject Match = "subject"
	// MatchEmail is any e-mail subject alternative name (case-insensitive).
	MatchEmail Match = "san_email"
	// MatchDNS is any DNS subject alternative name (case-insensitive).
	MatchDNS Match = "san_dns"
	// MatchSM9 is the SM9 identity, of the rule's KGC, that signed the
	// challenge (case-sensitive): a certificate-free login (LoginSM9).
	MatchSM9 Match = "sm9"
)

// Limits on login rules.
const (
	maxPattern       = 256
	maxLoginPolicies = 20
	defaultLoginTTL  = time.Hour
)

// LoginRule maps certificates to the policies and lifetime of the token
// the API mints after Login. Login tries a tenant's rules in name order
// and the first that matches decides; a certificate no rule matches is
// refused. It is also the stored form, at
// t/<tenant>/cms/login-rules/<name>, in JSON.
type LoginRule struct {
	Name  string `json:"name"`
	Match Match  `json:"match"`
	// Pattern is matched against the whole field with path.Match: '*' is
	// any run of characters other than '/', '?' one character, '[...]' a
	// class, '\\' escapes.
	Pattern string `json:"pattern"`
	// CA, when set, limits the rule to certificates that this CA of the
	// tenant issued.
	CA string `json:"ca,omitempty"`
	// KGC is the SM9 key generation centre of the tenant (an
	// sm9-sign-master key) whose identities a MatchSM9 rule logs in; the
	// other kinds have none.
	KGC string `json:"kgc,omitempty"`
	// Policies are the token's policies, 1 to 20 names; not "root".
	Policies []string `json:"policies"`
	// TTL is the token's lifetime: up to authn.MaxTTL; 0 is one hour. A
	// token never outlives the rule's owner token.
	TTL time.Duration `json:"ttl"`
	// Owner is the accessor of the token that the rule's tokens are
	// children of: a child of the token that wrote the rule, holding the
	// rule's policies. Revoking the writer, or deleting or rewriting the
	// rule, revokes it and every token the rule issued.
	Owner     string    `json:"owner,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Check validates a login rule and fills in its defaults.
func (r *LoginRule) Check() error {
	if err := checkName("login rule", r.Name); err != nil {
		return err
	}
	switch r.Match {
	case MatchSubject, MatchEmail, MatchDNS:
		if r.KGC != "" {
			return fault.Invalid("only a login rule matching %q names a kgc", MatchSM9)
		}
	case MatchSM9:
		if !authn.ValidName(r.KGC) || r.CA != "" {
			return fault.Invalid("a login rule matching %q names a kgc (a valid key name) and no ca", MatchSM9)
		}
	default:
		return fault.Invalid("a login rule matches %q, %q, %q or %q", MatchSubject, MatchEmail, MatchDNS, MatchSM9)
	}
	if _, err := path.Match(r.Pattern, ""); err != nil || r.Pattern == "" || len(r.Pattern) > maxPattern {
		return fault.Invalid("the pattern must be a glob (path.Match syntax) of 1 to %d bytes", maxPattern)
	}
	if r.CA != "" && !authn.ValidName(r.CA) {
		return fault.Invalid("CA name %q is invalid", r.CA)
	}
	if len(r.Policies) == 0 || len(r.Policies) > maxLoginPolicies {
		return fault.Invalid("a login rule grants 1 to %d policies", maxLoginPolicies)
	}
	for _, p := range r.Policies {
		if !authn.ValidName(p) || p == authn.RootPolicy {
			return fault.Invalid("policy %q is not a valid policy name, or is %q", p, authn.RootPolicy)
		}
	}
	if r.TTL == 0 {
		r.TTL = defaultLoginTTL
	}
	if r.TTL < 0 || r.TTL > authn.MaxTTL {
		return fault.Invalid("ttl must be positive and at most %s", authn.MaxTTL)
	}
	return nil
}

// matches reports whether the rule matches the identity a login proved:
// a certificate's, or an SM9 identity of a KGC.
func (r *LoginRule) matches(id *Identity) bool {
	if (r.Match == MatchSM9) != (id.KGC != "") {
		return false
	}
	if r.Match == MatchSM9 {
		ok, _ := path.Match(r.Pattern, id.SM9ID)
		return ok && r.KGC == id.KGC
	}
	if r.CA != "" && r.CA != id.CA {
		return false
	}
	var values []string
	fold := true
	switch r.Match {
	case MatchSubject:
		values, fold = []string{id.Certificate.Subject}, false
	case MatchEmail:
		values = id.SANs.Email
	case MatchDNS:
		values = id.SANs.DNS
	}
	pattern := r.Pattern
	if fold {
		pattern = strings.ToLower(pattern)
	}
	for _, v := range values {
		if fold {
			v = strings.ToLower(v)
		}
		if ok, _ := path.Match(pattern, v); ok {
			return true
		}
	}
	return false
}

// PutLoginRule creates or replaces a login rule and returns it with its
// defaults filled in, and the owner of the rule it replaced ("" if none),
// whose tokens the caller revokes.
func (s *Service) PutLoginRule(ctx context.Context, tenant string, r LoginRule) (LoginRule, string, error) {
	if err := checkTenant(tenant); err != nil {
		return LoginRule{}, "", err
	}
	if err := r.Check(); err != nil {
		return LoginRule{}, "", err
	}
	st, err := s.store.Backend()
	if err != nil {
		return LoginRule{}, "", err
	}
	r.Policies = slices.Clone(r.Policies)
	r.UpdatedAt = s.clock()
	b, err := json.Marshal(r)
	if err != nil {
		return LoginRule{}, "", fault.Unexpected(err)
	}
	// Conditioned on the rule replaced, so that of two writers at once
	// each reports a different owner and none is left with live tokens.
	var prev LoginRule
	err = storage.Atomic(ctx, st, func(tx storage.Backend) error {
		var err error
		if prev, err = readLoginRule(ctx, tx, tenant, r.Name); err != nil && !fault.Is(err, fault.LoginRuleNotFound) {
			return err
		}
		return tx.Put(ctx, loginRulePath(tenant, r.Name), b)
	})
	if err != nil {
		return LoginRule{}, "", fault.Storage(err)
	}
	return r, prev.Owner, nil
}

// GetLoginRule returns a login rule; an absent one is
// login_rule_not_found.
func (s *Service) GetLoginRule(ctx context.Context, tenant, name string) (LoginRule, error) {
	if err := checkTenant(tenant); err != nil {
		return LoginRule{}, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return LoginRule{}, err
	}
	return readLoginRule(ctx, st, tenant, name)
}

// ListLoginRules returns a tenant's login rules in name order, the order
// Login tries them in.
func (s *Service) ListLoginRules(ctx context.Context, tenant string) ([]LoginRule, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	keys, err := st.List(ctx, loginRulePrefix(tenant), "", 0)
	if err != nil {
		return nil, fault.Storage(err)
	}
	out := make([]LoginRule, 0, len(keys))
	for _, k := range keys {
		r, err := readLoginRule(ctx, st, tenant, strings.TrimPrefix(k, loginRulePrefix(tenant)))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// DeleteLoginRule deletes a login rule and returns its owner, whose
// tokens the caller revokes; an absent one is login_rule_not_found.
func (s *Service) DeleteLoginRule(ctx context.Context, tenant, name string) (string, error) {
	if err := checkTenant(tenant); err != nil {
		return "", err
	}
	st, err := s.store.Backend()
	if err != nil {
		return "", err
	}
	// Conditioned on the rule deleted, as in PutLoginRule.
	var r LoginRule
	err = storage.Atomic(ctx, st, func(tx storage.Backend) error {
		var err error
		if r, err = readLoginRule(ctx, tx, tenant, name); err != nil {
			return err
		}
		return tx.Delete(ctx, loginRulePath(tenant, name))
	})
	if err != nil {
		return "", fault.Storage(err)
	}
	return r.Owner, nil
}

func readLoginRule(ctx context.Context, st storage.Backend, tenant, name string) (LoginRule, error) {
	notFound := fault.New(fault.LoginRuleNotFound, "login rule %q not found", name)
	if !authn.ValidName(name) {
		return LoginRule{}, notFound
	}
	b, err := st.Get(ctx, loginRulePath(tenant, name))
	if errors.Is(err, storage.ErrNotFound) {
		return LoginRule{}, notFound
	}
	if err != nil {
		return LoginRule{}, fault.Storage(err)
	}
	var r LoginRule
	if err := json.Unmarshal(b, &r); err != nil {
		return LoginRule{}, fmt.Errorf("cms: login rule %s/%s is corrupt: %w", tenant, name, err)
	}
	return r, nil
}
