package authn

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/bolt"
	"github.com/mimacrypto/mima/internal/storage/inmem"
	"github.com/mimacrypto/mima/internal/storage/postgres"
	"github.com/mimacrypto/mima/internal/storage/postgres/pgtest"
)

// chain creates n tokens, each the child of the one before, under parent,
// and returns them in creation order.
func chain(t *testing.T, s *Service, parent Issued, n int) []Issued {
	t.Helper()
	out := make([]Issued, 0, n)
	for range n {
		child, err := s.CreateToken(context.Background(), mustAuth(t, s, parent.Token), "acme", TokenRequest{Policies: []string{AdminPolicy}})
		if err != nil {
			t.Fatalf("creating token %d of the chain: %v", len(out)+1, err)
		}
		out = append(out, child)
		parent = child
	}
	return out
}

// TestTokenDepthCap: a tenant admin token is depth 0, each child one
// deeper, and a token MaxTokenDepth deep cannot create a child.
func TestTokenDepthCap(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	_, admin, _ := s.CreateTenant(ctx, "acme")
	toks := chain(t, s, admin, MaxTokenDepth)
	deepest := toks[len(toks)-1]
	if deepest.Info.Depth != MaxTokenDepth || deepest.Info.Parent != toks[len(toks)-2].Info.Accessor {
		t.Fatalf("deepest token: depth %d, parent %q", deepest.Info.Depth, deepest.Info.Parent)
	}
	_, err := s.CreateToken(ctx, mustAuth(t, s, deepest.Token), "acme", TokenRequest{Policies: []string{AdminPolicy}})
	if !fault.Is(err, fault.TokenTooDeep) {
		t.Fatalf("a child of a token %d deep: %v, want %s", MaxTokenDepth, err, fault.TokenTooDeep)
	}
	if got, err := s.LookupToken(ctx, "acme", toks[0].Info.Accessor); err != nil || got.Depth != 1 || got.Parent != admin.Info.Accessor {
		t.Fatalf("lookup of the admin's child: %+v, %v", got, err)
	}
}

// legacyChain stores n nested tokens under parent as records written
// before the depth cap could, bypassing CreateToken.
func legacyChain(t *testing.T, s *Service, parent *Token, n int) []Issued {
	t.Helper()
	out := make([]Issued, 0, n)
	for range n {
		iss, err := s.issue(context.Background(), &Token{Tenant: "acme", Policies: []string{AdminPolicy}, Parent: parent.Accessor}, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, iss)
		parent = iss.Info
	}
	return out
}

// TestRevokeDeepTree: a tree far deeper than any recursion limit is
// revoked whole, and revoking it again is harmless.
func TestRevokeDeepTree(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	_, admin, _ := s.CreateTenant(ctx, "acme")
	toks := legacyChain(t, s, admin.Info, 200)
	if err := s.RevokeToken(ctx, "acme", admin.Info.Accessor); err != nil {
		t.Fatalf("revoking a 200-deep tree: %v", err)
	}
	s.Purge()
	for i, tok := range append(toks, admin) {
		got, err := s.LookupToken(ctx, "acme", tok.Info.Accessor)
		if err != nil || got.RevokedAt.IsZero() {
			t.Fatalf("token %d after revocation: %+v, %v", i, got, err)
		}
	}
	if err := s.RevokeToken(ctx, "acme", admin.Info.Accessor); err != nil {
		t.Fatalf("revoking again: %v", err)
	}
}

// crashingStore fails every write after the first budget ones, as a node
// that died half-way through would leave the store.
type crashingStore struct {
	storage.Backend
	budget atomic.Int64
}

var errCrashed = errors.New("crashed")

func (c *crashingStore) spend() error {
	if c.budget.Add(-1) < 0 {
		return errCrashed
	}
	return nil
}

func (c *crashingStore) Put(ctx context.Context, key string, value []byte) error {
	if err := c.spend(); err != nil {
		return err
	}
	return c.Backend.Put(ctx, key, value)
}

func (c *crashingStore) Batch(ctx context.Context, ops []storage.Op) error {
	if err := c.spend(); err != nil {
		return err
	}
	return c.Backend.Batch(ctx, ops)
}

// TestRevocationResumesAfterCrash: a revocation cut short by a crash at
// any write is finished by the next job run of a fresh node, and every
// token of the tree is refused from the moment the revocation was
// acknowledged or resumed.
func TestRevocationResumesAfterCrash(t *testing.T) {
	for budget := range int64(6) {
		store := inmem.New()
		crashing := &crashingStore{Backend: store}
		crashing.budget.Store(1 << 30)
		c := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
		s := unsealed(crashing, WithClock(c.now))
		ctx := context.Background()
		if _, err := s.Bootstrap(ctx, 0); err != nil {
			t.Fatal(err)
		}
		_, admin, _ := s.CreateTenant(ctx, "acme")
		toks := append(legacyChain(t, s, admin.Info, 3), legacyChain(t, s, admin.Info, 3)...)
		crashing.budget.Store(budget)
		err := s.RevokeToken(ctx, "acme", admin.Info.Accessor)
		if err == nil {
			continue // the budget sufficed: nothing to resume
		}
		if !errors.Is(err, errCrashed) {
			t.Fatalf("budget %d: %v", budget, err)
		}
		// A fresh node on the same store runs the jobs.
		restarted := unsealed(store, WithClock(c.now))
		if _, err := restarted.TidyTokens(ctx, c.now()); err != nil {
			t.Fatalf("budget %d: job run: %v", budget, err)
		}
		revoked := 0
		for _, tok := range append(toks, admin) {
			got, err := restarted.LookupToken(ctx, "acme", tok.Info.Accessor)
			if err != nil {
				t.Fatal(err)
			}
			if !got.RevokedAt.IsZero() {
				revoked++
			}
		}
		// The crash may strike before the revocation was recorded at
		// all: then the request failed and nothing changed; otherwise
		// the job run finished it.
		if revoked != 0 && revoked != len(toks)+1 {
			t.Fatalf("budget %d: %d of %d tokens revoked after the job run", budget, revoked, len(toks)+1)
		}
		if revoked == 0 && budget > 0 {
			t.Fatalf("budget %d: the revocation was lost", budget)
		}
		if revoked != 0 {
			for _, tok := range toks {
				if _, err := restarted.Authenticate(ctx, tok.Token); !fault.Is(err, fault.TokenRevoked) {
					t.Fatalf("budget %d: a descendant after resumption: %v", budget, err)
				}
			}
		}
	}
}

// raceRevocation runs eight creators of children of one token on creator
// against one revocation of that token on revoker, then checks on both
// that every token created is refused.
func raceRevocation(t *testing.T, creator, revoker *Service) {
	t.Helper()
	ctx := context.Background()
	_, admin, err := creator.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	parent, err := creator.CreateToken(ctx, mustAuth(t, creator, admin.Token), "acme", TokenRequest{Policies: []string{AdminPolicy}})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		created []Issued
		wg      sync.WaitGroup
		started sync.WaitGroup
	)
	done := make(chan struct{})
	for range 8 {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for {
				select {
				case <-done:
					return
				default:
				}
				// As the API does: authenticate, then act.
				caller, err := creator.Authenticate(ctx, parent.Token)
				if err == nil {
					var child Issued
					if child, err = creator.CreateToken(ctx, caller, "acme", TokenRequest{Policies: []string{AdminPolicy}}); err == nil {
						mu.Lock()
						created = append(created, child)
						mu.Unlock()
					}
				}
				if first {
					first = false
					started.Done()
				}
				if err != nil {
					<-done
					return
				}
			}
		}()
	}
	started.Wait()
	if err := revoker.RevokeToken(ctx, "acme", parent.Info.Accessor); err != nil {
		t.Fatal(err)
	}
	close(done)
	wg.Wait()
	creator.Purge() // as coherence does when the revoker's writes arrive
	escaped := 0
	for _, s := range []*Service{creator, revoker} {
		for _, child := range created {
			if _, err := s.Authenticate(ctx, child.Token); !fault.Is(err, fault.TokenRevoked) {
				escaped++
			}
		}
	}
	// The revocation list is complete in the store too: every child
	// stored is stored revoked.
	for _, child := range created {
		if tok, err := revoker.storedToken(ctx, child.Info.Accessor); err != nil || tok.RevokedAt.IsZero() {
			t.Errorf("child %s stored live after its parent's revocation (%v)", child.Info.Accessor, err)
		}
	}
	if escaped > 0 || len(created) == 0 {
		t.Fatalf("%d of %d authentications of children created during the revocation were not refused", escaped, 2*len(created))
	}
	mustAuth(t, revoker, admin.Token)
}

// TestRevocationRaceBolt: no interleaving of creation and revocation on
// one node leaves a child alive.
func TestRevocationRaceBolt(t *testing.T) {
	store, err := bolt.Open(filepath.Join(t.TempDir(), "mima.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	s := unsealed(store)
	if _, err := s.Bootstrap(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	raceRevocation(t, s, s)
}

// TestRevocationRacePostgres: two nodes on one database, children
// created on one while the other revokes their parent.
func TestRevocationRacePostgres(t *testing.T) {
	dsn := pgtest.Database(t)
	ctx := context.Background()
	open := func() *Service {
		t.Helper()
		b, err := postgres.Open(ctx, postgres.Config{DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return unsealed(b)
	}
	creator, revoker := open(), open()
	if _, err := creator.Bootstrap(ctx, 0); err != nil {
		t.Fatal(err)
	}
	raceRevocation(t, creator, revoker)
}
