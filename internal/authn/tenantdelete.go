package authn

import (
	"context"
	"encoding/json"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// DeleteTenant deletes the tenant name; only the root token may ask. Each
// step is safe to repeat, and deleting a deleted tenant again finishes an
// interrupted deletion:
//
//  1. the tenant record is marked deleted: from then on no request acts in
//     the tenant and every token of it fails authentication;
//  2. release (the key service) schedules the deletion of the tenant's keys;
//  3. every token of the tenant is revoked, with the tokens it created.
//
// The record stays, so the name is never given to a new tenant; the
// tenant's other records (policies, login rules, CAs, certificates, TSAs)
// stay encrypted in the store, unreachable. The default tenant cannot be
// deleted.
func (s *Service) DeleteTenant(ctx context.Context, name string, release func(ctx context.Context, tenant string) error) error {
	if !ValidName(name) {
		return fault.New(fault.InvalidArgument, "tenant name must be 1-63 characters of a-z, 0-9, '-' and '_'")
	}
	if name == DefaultTenant {
		return fault.New(fault.InvalidArgument, "the default tenant cannot be deleted")
	}
	if err := s.markTenantDeleted(ctx, name); err != nil {
		return err
	}
	if err := release(ctx, name); err != nil {
		return err
	}
	for after := ""; ; {
		page, err := s.ListTokens(ctx, name, after, MaxTokenListLimit)
		if err != nil {
			return err
		}
		for _, tok := range page.Tokens {
			if err := s.RevokeToken(ctx, name, tok.Accessor); err != nil && !fault.Is(err, fault.TokenNotFound) {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		after = page.Next
	}
}

// markTenantDeleted sets the DeletedAt of the tenant's record, once.
func (s *Service) markTenantDeleted(ctx context.Context, name string) error {
	var deleted Tenant
	err := storage.Atomic(ctx, &s.store, func(tx storage.Backend) error {
		t, err := readTenant(ctx, tx, name)
		if err != nil {
			return err
		}
		deleted = *t
		if !t.DeletedAt.IsZero() {
			return nil
		}
		deleted.DeletedAt = s.now().UTC()
		b, err := json.Marshal(&deleted)
		if err != nil {
			return err
		}
		return tx.Put(ctx, paths.Tenants+name, b)
	})
	if err != nil {
		return err
	}
	s.tenants.Put(paths.Tenant{Name: name}, &deleted)
	return nil
}

// checkTenantLive refuses a token whose tenant was deleted, so that no
// token of a deleted tenant acts, even one created while it was deleted.
func (s *Service) checkTenantLive(ctx context.Context, tok *Token) error {
	if tok.Tenant == "" {
		return nil
	}
	_, err := s.Tenant(ctx, tok.Tenant)
	if fault.Is(err, fault.TenantNotFound) {
		return fault.New(fault.TokenRevoked, "the token's tenant was deleted")
	}
	return err
}
