package server

import (
	"context"

	"github.com/mimacrypto/mima/internal/device/pkcs11"
	"github.com/mimacrypto/mima/internal/kms"
)

// tenantRetirer is a device that keeps something for one tenant alone (a
// PKCS#11 token's wrapping key of the tenant's keys) and can destroy it.
type tenantRetirer interface {
	RetireTenant(ctx context.Context, tenant string) error
}

var _ tenantRetirer = (*pkcs11.Device)(nil)

// retireTenants has every device of the pool that can destroy what it
// keeps for a tenant do so for each deleted tenant none of whose keys
// remain (all destroyed after their pending deletion): crypto-shredding,
// so that no copy of the store opens the tenant's keys again. A tenant is
// retired once per node run; retiring again is harmless.
func (n *node) retireTenants(ctx context.Context) {
	var rs []tenantRetirer
	for _, d := range n.opened {
		if r, ok := d.(tenantRetirer); ok {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return
	}
	tenants, err := n.auth.DeletedTenants(ctx)
	if err != nil {
		n.log.Error("listing the deleted tenants", "error", err)
		return
	}
	for _, t := range tenants {
		if n.retired[t.Name] {
			continue
		}
		page, err := n.keys.List(ctx, t.Name, kms.ListOptions{Limit: 1})
		if err != nil {
			n.log.Error("listing a deleted tenant's keys", "tenant", t.Name, "error", err)
			continue
		}
		if len(page.Keys) > 0 {
			continue // still pending deletion
		}
		done := true
		for _, r := range rs {
			if err := r.RetireTenant(ctx, t.Name); err != nil {
				n.log.Error("retiring a deleted tenant's device keys", "tenant", t.Name, "error", err)
				done = false
			}
		}
		if done {
			n.retired[t.Name] = true
			n.log.Info("deleted tenant's device keys destroyed", "tenant", t.Name)
		}
	}
}
