package kms

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// The nonce budget of SM4-GCM key versions.
//
// SM4-GCM with random 96-bit nonces stays within its bound on nonce
// collisions (NIST SP 800-38D section 8.3) for at most 2^32 encryptions
// under one key, so every version of an sm4 key has a budget of
// encryptions: the service's nonce limit. The stored record counts, per
// version, the encryptions reserved so far ("encryptions"). A node
// reserves a block of them under the write lock (cluster-wide on a shared
// store) before it uses any, then spends the block with one atomic add per
// encryption. A crash loses the unused rest of each block: the count runs
// ahead of the truth, never behind it, so the limit is never passed. When
// a reservation finds the latest version's budget spent, it adds a version
// in the same write and the encryption moves to it; asking explicitly for a
// spent version is key_version_exhausted.
const (
	// MaxNonceLimit is the most encryptions one SM4-GCM key version may
	// make.
	MaxNonceLimit = 1 << 32
	// DefaultNonceLimit is the nonce limit unless WithNonceLimit says
	// otherwise: half the bound, for margin.
	DefaultNonceLimit = 1 << 31
	// minNonceBlock and maxNonceBlock bound a reservation; blocks double
	// from the first to the second while a version stays in use, so a busy
	// key writes its record rarely and a crash loses at most maxNonceBlock
	// nonces per version and node.
	minNonceBlock = 1 << 10
	maxNonceBlock = 1 << 20
	// releaseTimeout bounds the return of unused nonces when sealing.
	releaseTimeout = 10 * time.Second
	// closedBlock is added to a block's use count to close it.
	closedBlock = 1 << 62
)

// WithNonceLimit sets how many SM4-GCM encryptions one key version makes
// before the key rotates: 1 to MaxNonceLimit; 0 means DefaultNonceLimit
// and larger values mean MaxNonceLimit.
func WithNonceLimit(n uint64) Option {
	return func(s *Service) {
		switch {
		case n == 0:
			s.nonceLimit = DefaultNonceLimit
		default:
			s.nonceLimit = min(n, MaxNonceLimit)
		}
	}
}

// bkey names the budget of one key version.
type bkey struct {
	tenant, name string
	version      int
}

// budget is this node's part of one version's nonce budget: the block it
// spends now. A block is replaced once its reservation is stored; two
// callers that reserve at once may both store one, and the nonces of the
// block replaced first stay counted, unused: safe, and rare.
type budget struct {
	key  bkey
	blk  atomic.Pointer[nonceBlock]
	last atomic.Uint64 // size of the last block reserved
}

// nonceBlock is a run of reserved nonces.
type nonceBlock struct {
	used atomic.Uint64 // nonces taken; failed takes carry it past size
	size uint64
	end  uint64 // the version's stored count once this block was reserved
}

// unused returns how many nonces of the block are left.
func (b *nonceBlock) unused() uint64 { return b.size - min(b.used.Load(), b.size) }

// take takes one nonce; it returns the block it tried, and whether it had
// one left.
func (b *budget) take() (*nonceBlock, bool) {
	blk := b.blk.Load()
	return blk, blk != nil && blk.used.Add(1) <= blk.size
}

// grow returns the size of the next block: double the last one, within
// [minNonceBlock, maxNonceBlock], at most a 1024th of limit (but 1) and at
// most left.
func (b *budget) grow(left, limit uint64) uint64 {
	n := min(max(2*b.last.Load(), minNonceBlock), maxNonceBlock, max(limit/1024, 1), left)
	b.last.Store(n)
	return n
}

// budgetOf returns the budget of a key version, made on first use.
func (s *Service) budgetOf(k bkey) *budget {
	if b, ok := s.budgets.Load(k); ok {
		return b.(*budget)
	}
	b, _ := s.budgets.LoadOrStore(k, &budget{key: k})
	return b.(*budget)
}

// budgetFor returns the budget of version v of e.
func (s *Service) budgetFor(e *entry, v int) *budget {
	if b := e.budgets[v-1].Load(); b != nil {
		return b
	}
	b := s.budgetOf(bkey{e.tenant, e.name, v})
	e.budgets[v-1].Store(b)
	return b
}

// spend takes a nonce of version v of e for one SM4-GCM encryption; latest
// says that v was chosen as the latest version rather than asked for. It
// returns the entry and version to encrypt with, which differ from e and v
// only when the key has rotated since e was cached.
func (s *Service) spend(ctx context.Context, e *entry, ref string, v int, latest bool) (*entry, int, error) {
	for {
		b := s.budgetFor(e, v)
		blk, ok := b.take()
		if ok {
			return e, v, nil
		}
		nv, err := s.reserve(ctx, b, blk, ref, latest)
		if err != nil {
			return nil, 0, err
		}
		if nv != v {
			if e, err = s.entryWith(ctx, b.key.tenant, b.key.name, ref, nv); err != nil {
				return nil, 0, err
			}
			v = nv
		}
	}
}

// reserve gives b, whose block seen is spent, a new block, and returns
// the version to retry with. With latest it is the key's latest version,
// added here when the latest version's budget is spent. The count is
// raised by compare-and-swap on the key record: reservations of other
// keys never wait, and a concurrent change of this record makes it read
// again (and find, often, that another caller reserved meanwhile).
func (s *Service) reserve(ctx context.Context, b *budget, seen *nonceBlock, ref string, latest bool) (int, error) {
	st, err := s.store.Backend()
	if err != nil {
		return 0, err
	}
	tenant, name := b.key.tenant, b.key.name
	var (
		v       int
		nb      *budget
		blk     *nonceBlock // the reserved block; nil when none was needed
		rotated bool
	)
	err = storage.Atomic(ctx, st, func(tx storage.Backend) error {
		v, nb, blk, rotated = b.key.version, nil, nil, false
		if b.blk.Load() != seen {
			return nil // reserved by another caller meanwhile
		}
		r, err := loadRecord(ctx, tx, tenant, name, ref)
		if err != nil {
			return err
		}
		defer r.wipe()
		if err := usable(ref, r.State); err != nil {
			return err
		}
		if latest {
			v = r.latest()
		}
		oldDue := r.dueEntry(tenant)
		if r.Versions[v-1].Encryptions >= s.nonceLimit {
			if !latest {
				return fault.New(fault.KeyVersionExhausted, "version %d of key %q has made its %d encryptions; use the latest version", v, ref, s.nonceLimit)
			}
			material, err := s.generate(onDevice(ctx, tenant, r.Device), r.Type)
			if err != nil {
				return err
			}
			now := s.now().UTC()
			v, rotated = r.addVersion(material, now), true
			r.UpdatedAt = now
		}
		nb = b
		if v != b.key.version {
			nb = s.budgetOf(bkey{tenant, name, v})
			if cur := nb.blk.Load(); cur != nil && cur.unused() > 0 {
				return nil
			}
		}
		ver := &r.Versions[v-1]
		n := nb.grow(s.nonceLimit-ver.Encryptions, s.nonceLimit)
		ver.Encryptions += n
		blk = &nonceBlock{size: n, end: ver.Encryptions}
		return save(ctx, tx, tenant, r, oldDue)
	})
	if err != nil {
		return 0, fault.Storage(err)
	}
	if rotated {
		s.keys.Remove(paths.Key{Tenant: tenant, Name: name})
	}
	if blk != nil {
		nb.blk.Store(blk)
	}
	return v, nil
}

// entryWith returns the entry of a key that has version v, reading it
// from storage if the cached one is older.
func (s *Service) entryWith(ctx context.Context, tenant, name, ref string, v int) (*entry, error) {
	if e, ok := s.keys.Get(paths.Key{Tenant: tenant, Name: name}); ok && len(e.versions) >= v {
		return e, nil
	}
	return s.load(ctx, tenant, name, ref)
}

// describe is r.info() with this node's unused reservations taken off the
// counts of encryptions, so that a quiet node shows exact counts.
func (s *Service) describe(tenant string, r *record) KeyInfo {
	ki := r.info()
	for i := range ki.Versions {
		b, ok := s.budgets.Load(bkey{tenant, r.Name, i + 1})
		if !ok {
			continue
		}
		if blk := b.(*budget).blk.Load(); blk != nil && blk.end == ki.Versions[i].Encryptions {
			ki.Versions[i].Encryptions -= blk.unused()
		}
	}
	return ki
}

// spare is what a closed block can give back: its unused nonces, if the
// stored count still ends with the block.
type spare struct{ end, unused uint64 }

// releaseBudgets closes every block and, where no node has reserved
// after it, gives its unused nonces back to the stored count. It is best
// effort: what it cannot give back stays counted, which is safe.
func (s *Service) releaseBudgets(st storage.Backend) {
	spares := map[paths.Key]map[int]spare{}
	s.budgets.Range(func(k, v any) bool {
		bk := k.(bkey)
		blk := v.(*budget).blk.Load()
		if blk == nil {
			return true
		}
		// Closing the block fails every later take; what was taken before
		// is what was spent.
		spent := min(blk.used.Add(closedBlock)-closedBlock, blk.size)
		if spent == blk.size {
			return true
		}
		ck := paths.Key{Tenant: bk.tenant, Name: bk.name}
		if spares[ck] == nil {
			spares[ck] = map[int]spare{}
		}
		spares[ck][bk.version] = spare{end: blk.end, unused: blk.size - spent}
		return true
	})
	if len(spares) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	for ck, byVersion := range spares {
		if ctx.Err() != nil {
			return
		}
		giveBack(ctx, st, ck, byVersion)
	}
}

// giveBack returns the spare nonces of one key's versions to its record,
// by compare-and-swap: a count that another node raised meanwhile no
// longer ends with the block and keeps it. It is best effort; see
// releaseBudgets.
func giveBack(ctx context.Context, st storage.Backend, k paths.Key, byVersion map[int]spare) {
	_ = storage.Atomic(ctx, st, func(tx storage.Backend) error {
		r, err := loadRecord(ctx, tx, k.Tenant, k.Name, k.Name)
		if err != nil {
			return err
		}
		defer r.wipe()
		changed := false
		for v, sp := range byVersion {
			if v <= len(r.Versions) && r.Versions[v-1].Encryptions == sp.end {
				r.Versions[v-1].Encryptions -= sp.unused
				changed = true
			}
		}
		if !changed {
			return nil
		}
		due := r.dueEntry(k.Tenant)
		return save(ctx, tx, k.Tenant, r, due)
	})
}

// usable is nil for an enabled key, else the error for using key ref in
// state.
func usable(ref string, state State) error {
	switch state {
	case Disabled:
		return fault.New(fault.KeyDisabled, "key %q is disabled", ref)
	case PendingDeletion:
		return fault.New(fault.KeyPendingDeletion, "key %q is pending deletion", ref)
	}
	return nil
}
