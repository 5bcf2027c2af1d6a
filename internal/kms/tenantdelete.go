package kms

import (
	"context"

	"github.com/mimacrypto/mima/internal/fault"
)

// ScheduleTenantDeletion schedules the deletion of every key of a tenant
// that is being deleted, after DefaultDeletionDays; a key already pending
// deletion keeps its date. It returns how many keys it scheduled and is
// safe to call again after an interruption.
func (s *Service) ScheduleTenantDeletion(ctx context.Context, tenant string) (int, error) {
	scheduled := 0
	opts := ListOptions{Limit: MaxListLimit}
	for {
		page, err := s.List(ctx, tenant, opts)
		if err != nil {
			return scheduled, err
		}
		for _, k := range page.Keys {
			if k.State == PendingDeletion {
				continue
			}
			_, err := s.ScheduleDeletion(ctx, tenant, k.Name, DefaultDeletionDays)
			switch {
			case err == nil:
				scheduled++
			case fault.Is(err, fault.KeyPendingDeletion), fault.Is(err, fault.KeyNotFound):
				// scheduled or destroyed since the listing
			default:
				return scheduled, err
			}
		}
		if page.Next == "" {
			return scheduled, nil
		}
		opts.After = page.Next
	}
}
