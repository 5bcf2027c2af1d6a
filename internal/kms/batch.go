package kms

import (
	"context"

	"github.com/mimacrypto/mima/internal/fault"
)

// MaxBatch is the most items a batch operation takes.
const MaxBatch = 1000

// Result is the outcome of one batch item: a value, or an error that
// concerns that item only.
type Result[T any] struct {
	Value T
	Err   error
}

// CheckBatch refuses a batch of more than MaxBatch items.
func CheckBatch(n int) error {
	if n > MaxBatch {
		return fault.New(fault.BatchTooLarge, "a batch holds at most %d items, not %d", MaxBatch, n)
	}
	return nil
}

// runBatch resolves the key once and applies op to every item. Errors that
// concern the whole batch (too many items, sealed, the key unusable) are
// returned alone; the others are per item.
func runBatch[Q, R any](ctx context.Context, s *Service, tenant, key string, types typeSet, opName string, items []Q, op func(ctx context.Context, e *entry, ref string, item Q) (R, error)) ([]Result[R], error) {
	if err := CheckBatch(len(items)); err != nil {
		return nil, err
	}
	e, err := s.use(ctx, tenant, key, types, opName)
	if err != nil {
		return nil, err
	}
	out := make([]Result[R], len(items))
	for i, it := range items {
		out[i].Value, out[i].Err = op(ctx, e, key, it)
	}
	return out, nil
}
