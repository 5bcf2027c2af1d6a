package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// AdminPolicy is the built-in policy that allows every operation on every
// object of the token's tenant, including tokens and policies.
const AdminPolicy = "admin"

// RootPolicy marks the root token, which may also act on the system.
const RootPolicy = "root"

// Rule allows the listed operations on the listed objects. Both lists hold
// glob patterns in the syntax of path.Match ("keys.*", "orders-*").
type Rule struct {
	Operations []string `json:"operations"`
	Objects    []string `json:"objects"`
}

// Policy is a named set of rules within a tenant.
type Policy struct {
	Name      string    `json:"name"`
	Rules     []Rule    `json:"rules"`
	UpdatedAt time.Time `json:"updated_at"`
}

// allows reports whether any rule of p allows op on object.
func (p *Policy) allows(op, object string) bool {
	for _, r := range p.Rules {
		if anyMatch(r.Operations, op) && anyMatch(r.Objects, object) {
			return true
		}
	}
	return false
}

func anyMatch(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

// PutPolicy creates or replaces a policy in tenant on behalf of writer.
// Root and tenant admins may write any policy; any other writer only one
// whose every grant its own policies already allow (see withinGrants), so
// that no token can widen its own or another's rights.
func (s *Service) PutPolicy(ctx context.Context, writer *Token, tenant string, p Policy) (Policy, error) {
	if !ValidName(p.Name) || p.Name == AdminPolicy || p.Name == RootPolicy {
		return Policy{}, fault.New(fault.InvalidArgument, "policy name must be 1-63 characters of a-z, 0-9, '-' and '_', and not %q or %q", AdminPolicy, RootPolicy)
	}
	if len(p.Rules) == 0 {
		return Policy{}, fault.New(fault.InvalidArgument, "a policy needs at least one rule")
	}
	for i, r := range p.Rules {
		if err := s.checkRule(r); err != nil {
			return Policy{}, fault.New(fault.InvalidArgument, "rule %d: %s", i+1, err)
		}
	}
	if err := s.withinGrants(ctx, writer, tenant, p.Rules); err != nil {
		return Policy{}, err
	}
	p.UpdatedAt = s.now().UTC()
	b, err := json.Marshal(p)
	if err != nil {
		return Policy{}, err
	}
	if err := s.store.Put(ctx, paths.Policies(tenant)+p.Name, b); err != nil {
		return Policy{}, err
	}
	s.policies.Put(paths.Policy{Tenant: tenant, Name: p.Name}, &p)
	return p, nil
}

// checkRule refuses empty rules, malformed patterns and operation patterns
// that match no known operation (a typo would otherwise grant nothing).
func (s *Service) checkRule(r Rule) error {
	if len(r.Operations) == 0 || len(r.Objects) == 0 {
		return errors.New("operations and objects must not be empty")
	}
	for _, o := range r.Objects {
		if _, err := path.Match(o, ""); err != nil || o == "" {
			return fmt.Errorf("bad object pattern %q", o)
		}
	}
	for _, op := range r.Operations {
		if _, err := path.Match(op, ""); err != nil || op == "" {
			return fmt.Errorf("bad operation pattern %q", op)
		}
		if len(s.ops) > 0 && !s.knownOp(op) {
			return fmt.Errorf("operation %q matches no known operation", op)
		}
	}
	return nil
}

func (s *Service) knownOp(pattern string) bool {
	for op := range s.ops {
		if ok, _ := path.Match(pattern, op); ok {
			return true
		}
	}
	return false
}

// Policy returns the named policy of tenant.
func (s *Service) Policy(ctx context.Context, tenant, name string) (*Policy, error) {
	return s.policy(ctx, tenant, name, false)
}

// policy returns the named policy of tenant from the cache when it can,
// and caches it. With remember, it also caches that the policy does not
// exist: decisions for a token naming a deleted policy then read nothing
// from the store until coherence forgets the path. Only the names that
// tokens hold are remembered so, never names a request chose.
func (s *Service) policy(ctx context.Context, tenant, name string, remember bool) (*Policy, error) {
	k := paths.Policy{Tenant: tenant, Name: name}
	if p, ok := s.policies.Get(k); ok {
		if p != nil {
			return p, nil
		}
		return nil, fault.New(fault.PolicyNotFound, "policy %q does not exist", name)
	}
	gen := s.policies.Generation()
	b, err := s.store.Get(ctx, k.String())
	if errors.Is(err, storage.ErrNotFound) {
		if remember {
			s.policies.Add(k, nil, gen)
		}
		return nil, fault.New(fault.PolicyNotFound, "policy %q does not exist", name)
	}
	if err != nil {
		return nil, err
	}
	var p Policy
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("authn: policy record: %w", err)
	}
	s.policies.Add(k, &p, gen)
	return &p, nil
}

// ListPolicies returns the names of tenant's policies.
func (s *Service) ListPolicies(ctx context.Context, tenant string) ([]string, error) {
	keys, err := s.store.List(ctx, paths.Policies(tenant), "", 0)
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		keys[i] = strings.TrimPrefix(k, paths.Policies(tenant))
	}
	return keys, nil
}

// DeletePolicy removes a policy. Tokens naming it lose what it allowed.
func (s *Service) DeletePolicy(ctx context.Context, tenant, name string) error {
	if _, err := s.Policy(ctx, tenant, name); err != nil {
		return err
	}
	if err := s.store.Delete(ctx, paths.Policies(tenant)+name); err != nil {
		return err
	}
	s.policies.Remove(paths.Policy{Tenant: tenant, Name: name})
	return nil
}

// Authorize decides whether tok may perform op on object in tenant. Root
// may do anything; other tokens act only in their own tenant, where the
// admin policy allows everything and named policies allow what their rules
// list. The error has code permission_denied.
func (s *Service) Authorize(ctx context.Context, tok *Token, tenant, op, object string) error {
	if tok.Root {
		return nil
	}
	if tok.Tenant != tenant {
		return fault.New(fault.PermissionDenied, "token belongs to another tenant")
	}
	for _, name := range tok.Policies {
		if name == AdminPolicy {
			return nil
		}
		p, err := s.policy(ctx, tenant, name, true)
		if fault.Is(err, fault.PolicyNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if p.allows(op, object) {
			return nil
		}
	}
	return fault.New(fault.PermissionDenied, "token is not allowed to %s %q", op, object)
}

// AuthorizeSameRights decides whether tok may direct object at target (an
// alias at a key): every operation that tok may perform on object, other
// than managing aliases (aliases.*), it must also be allowed to perform on
// target, so that pointing a name it can use at a key gives it nothing it
// could not already do with that key. The error has code
// permission_denied and names the first such operation.
func (s *Service) AuthorizeSameRights(ctx context.Context, tok *Token, tenant, object, target string) error {
	for _, op := range slices.Sorted(maps.Keys(s.ops)) {
		if strings.HasPrefix(op, "aliases.") {
			continue
		}
		if err := s.Authorize(ctx, tok, tenant, op, object); fault.Is(err, fault.PermissionDenied) {
			continue
		} else if err != nil {
			return err
		}
		if err := s.Authorize(ctx, tok, tenant, op, target); err != nil {
			return fault.New(fault.PermissionDenied, "token may %s %q but not %q, so it may not point one at the other", op, object, target)
		}
	}
	return nil
}

// withinGrants refuses rules that grant writer more than it holds: for
// every known operation a rule's operation patterns match, one of the
// writer's own rules must allow that operation on a pattern that covers
// each of the rule's object patterns. Root and admin tokens hold
// everything.
func (s *Service) withinGrants(ctx context.Context, writer *Token, tenant string, rules []Rule) error {
	if writer.Root || writer.hasPolicy(AdminPolicy) {
		return nil
	}
	var own []Rule
	for _, name := range writer.Policies {
		p, err := s.policy(ctx, tenant, name, true)
		if fault.Is(err, fault.PolicyNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		own = append(own, p.Rules...)
	}
	for _, r := range rules {
		for _, op := range s.opsOf(r.Operations) {
			for _, obj := range r.Objects {
				held := slices.ContainsFunc(own, func(o Rule) bool {
					return anyCovers(o.Operations, op) && anyCovers(o.Objects, obj)
				})
				if !held {
					return fault.New(fault.PermissionDenied, "a policy may grant only what its writer holds, and the writer may not %s %q", op, obj)
				}
			}
		}
	}
	return nil
}

// opsOf returns the known operations that patterns match, or the patterns
// themselves when no operations are known.
func (s *Service) opsOf(patterns []string) []string {
	if len(s.ops) == 0 {
		return patterns
	}
	var out []string
	for _, op := range slices.Sorted(maps.Keys(s.ops)) {
		if anyMatch(patterns, op) {
			out = append(out, op)
		}
	}
	return out
}

// anyCovers reports whether one of patterns matches every name that
// pattern b matches.
func anyCovers(patterns []string, b string) bool {
	return slices.ContainsFunc(patterns, func(a string) bool { return covers(a, b) })
}

// covers reports whether glob a (path.Match syntax) matches every name
// that glob b matches. It is exact for a literal b and conservative
// otherwise: a must equal b, or be a literal prefix followed by '*' that
// b starts with, the rest of b holding no '/', '[' or '\'.
func covers(a, b string) bool {
	const meta = `*?[\`
	if a == b {
		return true
	}
	if !strings.ContainsAny(b, meta) {
		ok, _ := path.Match(a, b)
		return ok
	}
	prefix, ok := strings.CutSuffix(a, "*")
	if !ok || strings.ContainsAny(prefix, meta) || !strings.HasPrefix(b, prefix) {
		return false
	}
	return !strings.ContainsAny(b[len(prefix):], `/[\`)
}
