package cms

import (
	"slices"
	"sync"
	"testing"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage/storagetest"
)

// node returns another CMS service over the env's store and services, as
// a second node of a cluster.
func (e *env) node(t testing.TB) *Service {
	t.Helper()
	s := New(e.keys, e.ca, WithClock(e.clock.Now))
	if err := s.Unsealed(ctx, e.store); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTimestampsOfOtherTSAsDoNotWait: while one TSA's serial counter is
// held inside the store, another TSA answers: timestamping takes no
// service-wide lock.
func TestTimestampsOfOtherTSAsDoNotWait(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.tsa(t, "root", "held")
	e.tsa(t, "root", "free")
	st := storagetest.Park(e.store, func(key string, _ bool) bool { return key == tsaSerialPath(tenant, "held") })
	if err := e.s.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	st.Proceeds(t, func() error {
		_, err := e.s.Timestamp(ctx, tenant, "held", query(t, []byte("x")))
		return err
	}, func() error {
		_, err := e.s.Timestamp(ctx, tenant, "free", query(t, []byte("y")))
		return err
	}, "a timestamp waited for another TSA's held in the store")
}

// TestConcurrentTimestampsUniqueSerials: two nodes answering one TSA at
// once give serials 1 to n, each once.
func TestConcurrentTimestampsUniqueSerials(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.tsa(t, "root", "tsa")
	nodes := []*Service{e.s, e.node(t)}
	const n = 24
	serials := make(chan int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			der, err := nodes[i%2].Timestamp(ctx, tenant, "tsa", query(t, []byte("x")))
			if err != nil {
				t.Error(err)
				return
			}
			_, tok := reply(t, der)
			serials <- tok.info.SerialNumber.Int64()
		})
	}
	wg.Wait()
	close(serials)
	var got []int64
	for s := range serials {
		got = append(got, s)
	}
	slices.Sort(got)
	for i, s := range got {
		if s != int64(i+1) {
			t.Fatalf("serials %v, want 1 to %d each once", got, n)
		}
	}
	if len(got) != n {
		t.Fatalf("%d serials, want %d", len(got), n)
	}
}

// TestConcurrentTSACreation: of two nodes creating one TSA at once
// exactly one succeeds.
func TestConcurrentTSACreation(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	nodes := []*Service{e.s, e.node(t)}
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = nodes[i%2].CreateTSA(ctx, tenant, TSARequest{Name: "tsa", CA: "root"})
		})
	}
	wg.Wait()
	created := 0
	for _, err := range errs {
		switch {
		case err == nil:
			created++
		case !fault.Is(err, fault.AlreadyExists):
			t.Fatal(err)
		}
	}
	if created != 1 {
		t.Fatalf("%d concurrent creations of one TSA succeeded, want 1", created)
	}
}

// TestReplacedLoginRuleOwnersAreAllReported: when two nodes replace one
// login rule at once, each reports the owner it replaced, so that no
// owner's tokens outlive their rule.
func TestReplacedLoginRuleOwnersAreAllReported(t *testing.T) {
	e := newEnv(t)
	rule := func(owner string) LoginRule {
		return LoginRule{Name: "staff", Match: MatchEmail, Pattern: "*@acme.com", Policies: []string{"reader"}, Owner: owner}
	}
	if _, _, err := e.s.PutLoginRule(ctx, tenant, rule("o0")); err != nil {
		t.Fatal(err)
	}
	st := storagetest.Park(e.store, func(key string, _ bool) bool { return key == loginRulePath(tenant, "staff") })
	held := New(e.keys, e.ca, WithClock(e.clock.Now))
	if err := held.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	prevs := make(chan string, 2)
	go func() {
		_, prev, err := held.PutLoginRule(ctx, tenant, rule("o1"))
		if err != nil {
			t.Error(err)
		}
		prevs <- prev
	}()
	<-st.Parked
	_, prev, err := e.s.PutLoginRule(ctx, tenant, rule("o2"))
	if err != nil {
		t.Fatal(err)
	}
	prevs <- prev
	st.Release()
	got := []string{<-prevs, <-prevs}
	slices.Sort(got)
	r, err := e.s.GetLoginRule(ctx, tenant, "staff")
	if err != nil {
		t.Fatal(err)
	}
	// The stored owner and the two replaced ones are o0, o1 and o2.
	if all := append(got, r.Owner); !slices.Equal(slices.Sorted(slices.Values(all)), []string{"o0", "o1", "o2"}) {
		t.Fatalf("replaced owners %v and stored owner %q: one owner was lost", got, r.Owner)
	}
}
