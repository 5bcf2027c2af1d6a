package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ErrConflict is returned, wrapped, by Swap when a condition does not hold:
// another writer changed an entry first.
var ErrConflict = errors.New("storage: entry changed concurrently")

// Cond is a condition of a Swap: the entry at Key holds exactly Value, or
// is absent when Absent is set (Value is then ignored).
type Cond struct {
	Key    string
	Value  []byte
	Absent bool
}

// CheckConds returns an error wrapping ErrInvalidKey if any condition has
// an invalid key, naming the index of the first such condition.
func CheckConds(conds []Cond) error {
	for i, c := range conds {
		if err := CheckKey(c.Key); err != nil {
			return fmt.Errorf("condition %d: %w", i, err)
		}
	}
	return nil
}

// MaxAttempts bounds how often Atomic runs its function when other writers
// keep changing what it read.
const MaxAttempts = 100

// Atomic runs fn against a transaction on st, an optimistic one: fn's
// reads are recorded, its writes held back (later reads in fn see them),
// and when fn returns nil the writes are applied in one Swap on condition
// that every entry fn read is unchanged. When another writer changed one
// first, fn runs again on fresh reads, up to MaxAttempts times. fn must
// therefore leave no effect outside the transaction before Atomic returns.
// List in fn sees the store without the held-back writes and is no
// condition: fn must not rely on the absence of a key it only listed.
func Atomic(ctx context.Context, st Backend, fn func(tx Backend) error) error {
	var err error
	for attempt := range MaxAttempts {
		t := &txn{st: st, read: map[string]Cond{}, wrote: map[string]Op{}, assume: attempt == 0}
		if err = fn(t); err != nil {
			return err
		}
		if len(t.ops) == 0 {
			return nil
		}
		conds := make([]Cond, 0, len(t.read))
		for _, c := range t.read {
			conds = append(conds, c)
		}
		slices.SortFunc(conds, func(a, b Cond) int { return cmpString(a.Key, b.Key) })
		err = st.Swap(ctx, conds, t.ops)
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("storage: gave up after %d attempts: %w", MaxAttempts, err)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// txn is the transaction Atomic hands to its function.
type txn struct {
	st     Backend
	read   map[string]Cond // what fn read from st, as conditions
	wrote  map[string]Op   // the latest held-back op of each key
	ops    []Op
	assume bool // the first run: Absent assumes instead of reading
}

// Absent reports whether st holds no entry at key. In a transaction of
// Atomic, on the first run of its function, it does not read: it assumes
// the key absent and makes that a condition of the commit, so that if the
// key exists the commit fails and the function runs again, now reading.
// Creating something new, the common case, then costs no round trip for
// the check: over a network that is one round trip per checked name.
// Use it only where absence lets the function go on to write: one that
// returned an error on absence would return it on the assumption.
func Absent(ctx context.Context, st Backend, key string) (bool, error) {
	if t, ok := st.(*txn); ok && t.assume {
		_, wrote := t.wrote[key]
		_, read := t.read[key]
		if !wrote && !read {
			if err := CheckKey(key); err != nil {
				return false, err
			}
			t.read[key] = Cond{Key: key, Absent: true}
			return true, nil
		}
	}
	_, err := st.Get(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return true, nil
	case err != nil:
		return false, err
	}
	return false, nil
}

func (t *txn) Get(ctx context.Context, key string) ([]byte, error) {
	if op, ok := t.wrote[key]; ok {
		if op.Delete {
			return nil, fmt.Errorf("get %q: %w", key, ErrNotFound)
		}
		return slices.Clone(op.Value), nil
	}
	if c, ok := t.read[key]; ok {
		if c.Absent {
			return nil, fmt.Errorf("get %q: %w", key, ErrNotFound)
		}
		return slices.Clone(c.Value), nil
	}
	v, err := t.st.Get(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		t.read[key] = Cond{Key: key, Absent: true}
	case err == nil:
		t.read[key] = Cond{Key: key, Value: slices.Clone(v)}
	}
	return v, err
}

func (t *txn) Put(ctx context.Context, key string, value []byte) error {
	return t.Batch(ctx, []Op{{Key: key, Value: value}})
}

func (t *txn) Delete(ctx context.Context, key string) error {
	return t.Batch(ctx, []Op{{Key: key, Delete: true}})
}

func (t *txn) List(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	return t.st.List(ctx, prefix, after, limit)
}

func (t *txn) Batch(ctx context.Context, ops []Op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := CheckOps(ops); err != nil {
		return err
	}
	for _, op := range ops {
		op.Value = slices.Clone(op.Value)
		t.ops = append(t.ops, op)
		t.wrote[op.Key] = op
	}
	return nil
}

func (t *txn) Swap(ctx context.Context, conds []Cond, ops []Op) error {
	for _, c := range conds {
		v, err := t.Get(ctx, c.Key)
		if errors.Is(err, ErrNotFound) && c.Absent || err == nil && !c.Absent && string(v) == string(c.Value) {
			continue
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("swap %q: %w", c.Key, ErrConflict)
	}
	return t.Batch(ctx, ops)
}
