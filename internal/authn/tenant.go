package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// Tenant is an isolated namespace of keys, policies and tokens.
type Tenant struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	// DeletedAt is set by DeleteTenant; the record stays so that the
	// name is never reused.
	DeletedAt time.Time `json:"deleted_at,omitzero"`
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidName reports whether name is a valid tenant, policy or object name:
// 1 to 63 characters of lower-case letters, digits, '-' and '_', starting
// with a letter or digit (so never a DotSegment).
func ValidName(name string) bool { return namePattern.MatchString(name) }

// DotSegment reports whether name is "." or "..", which no name may be:
// URL path cleaning drops such a segment, so no route could reach the
// object. Names whose alphabet includes '.' (keys, aliases, V2X devices)
// refuse them with this check.
func DotSegment(name string) bool { return name == "." || name == ".." }

// CreateTenant creates a tenant and its first admin token, which expires
// after AdminTTL and is renewable (RenewToken). The name of a deleted
// tenant is not available again.
func (s *Service) CreateTenant(ctx context.Context, name string) (Tenant, Issued, error) {
	if !ValidName(name) {
		return Tenant{}, Issued{}, fault.New(fault.InvalidArgument, "tenant name must be 1-63 characters of a-z, 0-9, '-' and '_'")
	}
	now := s.now().UTC()
	t := Tenant{Name: name, CreatedAt: now}
	tok := &Token{Tenant: name, Policies: []string{AdminPolicy}, DisplayName: "tenant admin",
		ExpiresAt: now.Add(AdminTTL), TTL: AdminTTL, RenewUntil: now.Add(MaxTTL)}
	tb, err := json.Marshal(t)
	if err != nil {
		return Tenant{}, Issued{}, err
	}
	// The name is claimed by the transaction's condition that no record
	// holds it.
	issued, err := s.issue(ctx, tok, func(tx storage.Backend) ([]storage.Op, error) {
		if _, err := tx.Get(ctx, paths.Tenants+name); err == nil {
			return nil, fault.New(fault.AlreadyExists, "tenant %q already exists", name)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
		return []storage.Op{{Key: paths.Tenants + name, Value: tb}}, nil
	})
	if err != nil {
		return Tenant{}, Issued{}, err
	}
	s.tenants.Put(paths.Tenant{Name: name}, &t)
	return t, issued, nil
}

// putTenant stores a tenant record unconditionally.
func (s *Service) putTenant(ctx context.Context, name string) (Tenant, error) {
	t := Tenant{Name: name, CreatedAt: s.now().UTC()}
	b, err := json.Marshal(t)
	if err != nil {
		return Tenant{}, err
	}
	if err := s.store.Put(ctx, paths.Tenants+name, b); err != nil {
		return Tenant{}, err
	}
	s.tenants.Put(paths.Tenant{Name: name}, &t)
	return t, nil
}

// Tenant returns the named tenant or an error with code tenant_not_found,
// also for a deleted tenant.
func (s *Service) Tenant(ctx context.Context, name string) (Tenant, error) {
	t, err := s.tenantRecord(ctx, name)
	if err != nil {
		return Tenant{}, err
	}
	if !t.DeletedAt.IsZero() {
		return Tenant{}, fault.New(fault.TenantNotFound, "tenant %q does not exist", name)
	}
	return *t, nil
}

// tenantRecord loads a tenant record, deleted or not, from the cache when
// it can, and caches it.
func (s *Service) tenantRecord(ctx context.Context, name string) (*Tenant, error) {
	k := paths.Tenant{Name: name}
	if t, ok := s.tenants.Get(k); ok {
		return t, nil
	}
	gen := s.tenants.Generation()
	t, err := readTenant(ctx, &s.store, name)
	if err != nil {
		return nil, err
	}
	s.tenants.Add(k, t, gen)
	return t, nil
}

// readTenant reads a tenant record, deleted or not, from st.
func readTenant(ctx context.Context, st storage.Backend, name string) (*Tenant, error) {
	b, err := st.Get(ctx, paths.Tenants+name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fault.New(fault.TenantNotFound, "tenant %q does not exist", name)
	}
	if err != nil {
		return nil, err
	}
	var t Tenant
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("authn: tenant record %q: %w", name, err)
	}
	return &t, nil
}

// liveTenant refuses, with code tenant_not_found, a tenant that tx holds
// deleted or does not hold.
func liveTenant(ctx context.Context, tx storage.Backend, name string) error {
	t, err := readTenant(ctx, tx, name)
	if err == nil && !t.DeletedAt.IsZero() {
		return fault.New(fault.TenantNotFound, "tenant %q does not exist", name)
	}
	return err
}

// ListTenants returns every tenant in name order, deleted ones left out.
func (s *Service) ListTenants(ctx context.Context) ([]Tenant, error) {
	return s.tenantsWhere(ctx, false)
}

// DeletedTenants returns the deleted tenants in name order.
func (s *Service) DeletedTenants(ctx context.Context) ([]Tenant, error) {
	return s.tenantsWhere(ctx, true)
}

// tenantsWhere returns the tenants, in name order, that are deleted or not.
func (s *Service) tenantsWhere(ctx context.Context, deleted bool) ([]Tenant, error) {
	keys, err := s.store.List(ctx, paths.Tenants, "", 0)
	if err != nil {
		return nil, err
	}
	out := []Tenant{}
	for _, k := range keys {
		t, err := s.tenantRecord(ctx, strings.TrimPrefix(k, paths.Tenants))
		if err != nil {
			return nil, err
		}
		if t.DeletedAt.IsZero() != deleted {
			out = append(out, *t)
		}
	}
	return out, nil
}
