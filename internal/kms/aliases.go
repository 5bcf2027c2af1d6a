package kms

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

// aliasRecord is the stored form of an alias, at t/<tenant>/aliases/<alias>
// (the alias name without AliasPrefix).
type aliasRecord struct {
	Target    string    `json:"target"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Alias is a second name for a key, usable wherever a key name is.
type Alias struct {
	Name      string    `json:"name"` // with AliasPrefix
	Target    string    `json:"target"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AliasPage is one page of aliases; Next is the cursor for the following
// page, "" at the end.
type AliasPage struct {
	Aliases []Alias `json:"aliases"`
	Next    string  `json:"next,omitempty"`
}

// CreateAlias makes alias ("alias:<name>") point to the key target, which
// must exist. An alias whose key is destroyed no longer resolves.
func (s *Service) CreateAlias(ctx context.Context, tenant, alias, target string) (Alias, error) {
	return s.putAlias(ctx, tenant, alias, target, false)
}

// UpdateAlias re-points an existing alias to the key target.
func (s *Service) UpdateAlias(ctx context.Context, tenant, alias, target string) (Alias, error) {
	return s.putAlias(ctx, tenant, alias, target, true)
}

func (s *Service) putAlias(ctx context.Context, tenant, alias, target string, replace bool) (Alias, error) {
	st, name, err := s.aliasArgs(tenant, alias)
	if err != nil {
		return Alias{}, err
	}
	if !ValidName(target) {
		return Alias{}, fault.Invalid("an alias must point to a key name, not %q", target)
	}
	now := s.now().UTC()
	a := aliasRecord{Target: target, CreatedAt: now, UpdatedAt: now}
	err = s.atomicAlias(ctx, st, tenant, name, func(tx storage.Backend) error {
		// The target is a condition too: a key deleted meanwhile fails the swap.
		if ok, err := exists(ctx, tx, paths.Key{Tenant: tenant, Name: target}.String()); err != nil {
			return err
		} else if !ok {
			return errKeyNotFound(target)
		}
		old, err := loadAlias(ctx, tx, tenant, name)
		switch {
		case err == nil && !replace:
			return fault.New(fault.AlreadyExists, "alias %q already exists", alias)
		case err == nil:
			a.CreatedAt = old.CreatedAt
		case !errors.Is(err, storage.ErrNotFound):
			return err
		case replace:
			return fault.New(fault.AliasNotFound, "alias %q not found", alias)
		}
		b, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("kms: encoding alias record: %w", err)
		}
		return tx.Put(ctx, paths.Alias{Tenant: tenant, Name: name}.String(), b)
	})
	if err != nil {
		return Alias{}, err
	}
	return a.public(name), nil
}

// atomicAlias runs fn in a storage transaction and, once it committed,
// drops the cached alias name.
func (s *Service) atomicAlias(ctx context.Context, st storage.Backend, tenant, name string, fn func(tx storage.Backend) error) error {
	if err := storage.Atomic(ctx, st, fn); err != nil {
		return fault.Storage(err)
	}
	s.aliases.Remove(paths.Alias{Tenant: tenant, Name: name})
	return nil
}

// DeleteAlias removes an alias; the key is unaffected.
func (s *Service) DeleteAlias(ctx context.Context, tenant, alias string) error {
	st, name, err := s.aliasArgs(tenant, alias)
	if err != nil {
		return err
	}
	return s.atomicAlias(ctx, st, tenant, name, func(tx storage.Backend) error {
		if ok, err := exists(ctx, tx, paths.Alias{Tenant: tenant, Name: name}.String()); err != nil {
			return err
		} else if !ok {
			return fault.New(fault.AliasNotFound, "alias %q not found", alias)
		}
		return tx.Delete(ctx, paths.Alias{Tenant: tenant, Name: name}.String())
	})
}

// ListAliases returns a page of the tenant's aliases in name order, after
// the cursor after (an alias name with or without AliasPrefix).
func (s *Service) ListAliases(ctx context.Context, tenant, after string, limit int) (AliasPage, error) {
	if err := checkTenant(tenant); err != nil {
		return AliasPage{}, err
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return AliasPage{}, err
	}
	after = strings.TrimPrefix(after, AliasPrefix)
	if after != "" && !ValidName(after) {
		return AliasPage{}, fault.Invalid("the list cursor is not an alias name")
	}
	st, err := s.store.Backend()
	if err != nil {
		return AliasPage{}, err
	}
	prefix := paths.Aliases(tenant)
	if after != "" {
		after = prefix + after
	}
	paths, err := st.List(ctx, prefix, after, limit)
	if err != nil {
		return AliasPage{}, fault.Storage(err)
	}
	page := AliasPage{Aliases: make([]Alias, 0, len(paths))}
	for _, p := range paths {
		name := strings.TrimPrefix(p, prefix)
		a, err := loadAlias(ctx, st, tenant, name)
		if errors.Is(err, storage.ErrNotFound) {
			continue // deleted since listed
		}
		if err != nil {
			return AliasPage{}, err
		}
		page.Aliases = append(page.Aliases, a.public(name))
	}
	if len(paths) == limit {
		page.Next = AliasPrefix + strings.TrimPrefix(paths[len(paths)-1], prefix)
	}
	return page, nil
}

func (a *aliasRecord) public(name string) Alias {
	return Alias{Name: AliasPrefix + name, Target: a.Target, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

// aliasArgs validates a tenant and an alias ("alias:<name>") and returns
// the store and the alias name.
func (s *Service) aliasArgs(tenant, alias string) (storage.Backend, string, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, "", err
	}
	name, ok := cutAlias(alias)
	if !ok || !ValidName(name) {
		return nil, "", fault.Invalid("alias %q is invalid: use %q followed by "+nameRule, alias, AliasPrefix)
	}
	st, err := s.store.Backend()
	if err != nil {
		return nil, "", err
	}
	return st, name, nil
}
