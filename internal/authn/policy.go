package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
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

// PutPolicy creates or replaces a policy in tenant.
func (s *Service) PutPolicy(ctx context.Context, tenant string, p Policy) (Policy, error) {
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
	p.UpdatedAt = s.now().UTC()
	b, err := json.Marshal(p)
	if err != nil {
		return Policy{}, err
	}
	if err := s.store.Put(ctx, policyPrefix(tenant)+p.Name, b); err != nil {
		return Policy{}, err
	}
	s.policies.Store(tenant+"/"+p.Name, &p)
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
	if v, ok := s.policies.Load(tenant + "/" + name); ok {
		return v.(*Policy), nil
	}
	b, err := s.store.Get(ctx, policyPrefix(tenant)+name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fault.New(fault.PolicyNotFound, "policy %q does not exist", name)
	}
	if err != nil {
		return nil, err
	}
	var p Policy
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("authn: policy record: %w", err)
	}
	s.policies.Store(tenant+"/"+name, &p)
	return &p, nil
}

// ListPolicies returns the names of tenant's policies.
func (s *Service) ListPolicies(ctx context.Context, tenant string) ([]string, error) {
	keys, err := s.store.List(ctx, policyPrefix(tenant), "", 0)
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		keys[i] = strings.TrimPrefix(k, policyPrefix(tenant))
	}
	return keys, nil
}

// DeletePolicy removes a policy. Tokens naming it lose what it allowed.
func (s *Service) DeletePolicy(ctx context.Context, tenant, name string) error {
	if _, err := s.Policy(ctx, tenant, name); err != nil {
		return err
	}
	if err := s.store.Delete(ctx, policyPrefix(tenant)+name); err != nil {
		return err
	}
	s.policies.Delete(tenant + "/" + name)
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
		p, err := s.Policy(ctx, tenant, name)
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
