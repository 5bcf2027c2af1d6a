package kms

import (
	"context"
	"strings"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// List page sizes.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// ListOptions selects a page of keys. Keys are listed in name order.
type ListOptions struct {
	// After is the cursor: list names after it ("" for the start).
	After string
	// Limit is the page size, 1 to MaxListLimit; 0 means DefaultListLimit.
	Limit int
	// Type, State and Tags, when set, keep only keys that match all of
	// them (every tag must be present with the given value).
	Type  device.KeyType
	State State
	Tags  map[string]string
}

// KeyPage is one page of keys. Next is the cursor for the following page,
// "" at the end. With a filter, a page may hold fewer than Limit keys (even
// none) while Next is set: each call examines at most MaxListLimit stored
// keys, so listing stays cheap however many keys a tenant has.
type KeyPage struct {
	Keys []KeyInfo `json:"keys"`
	Next string    `json:"next,omitempty"`
}

func (o *ListOptions) filtered() bool { return o.Type != "" || o.State != "" || len(o.Tags) > 0 }

func (o *ListOptions) match(r *record) bool {
	if o.Type != "" && r.Type != o.Type || o.State != "" && r.State != o.State {
		return false
	}
	for k, v := range o.Tags {
		if got, ok := r.Tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// List returns a page of the tenant's keys, reading only that page from
// storage.
func (s *Service) List(ctx context.Context, tenant string, opts ListOptions) (KeyPage, error) {
	if err := checkTenant(tenant); err != nil {
		return KeyPage{}, err
	}
	limit, err := pageLimit(opts.Limit)
	if err != nil {
		return KeyPage{}, err
	}
	if opts.After != "" && !ValidName(opts.After) {
		return KeyPage{}, fault.Invalid("the list cursor is not a key name")
	}
	st, err := s.store.Backend()
	if err != nil {
		return KeyPage{}, err
	}
	scan := limit
	if opts.filtered() {
		scan = MaxListLimit
	}
	prefix := paths.Keys(tenant)
	after := ""
	if opts.After != "" {
		after = prefix + opts.After
	}
	paths, err := st.List(ctx, prefix, after, scan)
	if err != nil {
		return KeyPage{}, fault.Storage(err)
	}
	page := KeyPage{Keys: []KeyInfo{}}
	examined := 0
	for _, p := range paths {
		if len(page.Keys) == limit {
			break
		}
		examined++
		name := strings.TrimPrefix(p, prefix)
		r, err := loadRecord(ctx, st, tenant, name, name)
		if fault.Is(err, fault.KeyNotFound) {
			continue // destroyed since listed
		}
		if err != nil {
			return KeyPage{}, err
		}
		r.wipe()
		if opts.match(r) {
			page.Keys = append(page.Keys, s.describe(tenant, r))
		}
	}
	if examined > 0 && (examined < len(paths) || len(paths) == scan) {
		page.Next = strings.TrimPrefix(paths[examined-1], prefix)
	}
	return page, nil
}

// pageLimit validates a page size.
func pageLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultListLimit, nil
	case limit < 0 || limit > MaxListLimit:
		return 0, fault.Invalid("the page size must be 1 to %d", MaxListLimit)
	}
	return limit, nil
}
