package pki

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
)

// maxExpiring bounds what ListExpiring returns.
const maxExpiring = 1000

// ListExpiring returns the valid certificates of a tenant (not revoked,
// not on hold, not yet expired) whose notAfter falls within the next
// within, soonest first: at most 1000 of them (Search with ExpiresBefore
// pages through more).
func (s *Service) ListExpiring(ctx context.Context, tenant string, within time.Duration) ([]Certificate, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	if within <= 0 {
		return nil, fault.Invalid("the expiry window must be positive")
	}
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	now := s.clock()
	end := now.Add(within).Unix()
	prefix := expiryPrefix(tenant)
	after := prefix + unixPath(now)
	var out []Certificate
	for {
		paths, err := st.List(ctx, prefix, after, MaxPageSize)
		if err != nil {
			return nil, fault.Storage(err)
		}
		for _, p := range paths {
			at, serial, ok := strings.Cut(strings.TrimPrefix(p, prefix), "/")
			secs, err := strconv.ParseInt(at, 10, 64)
			if !ok || err != nil || secs > end {
				return out, nil
			}
			c, err := readCert(ctx, st, tenant, serial)
			if err != nil {
				return nil, err
			}
			if r := c.at(now); r.State == Valid {
				out = append(out, r)
				if len(out) == maxExpiring {
					return out, nil
				}
			}
			after = p
		}
		if len(paths) < MaxPageSize {
			return out, nil
		}
	}
}
