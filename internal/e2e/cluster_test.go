package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/storage/postgres/pgtest"
	"github.com/mimacrypto/mima/sdk"
)

// cluster is several mima nodes on one PostgreSQL database.
type cluster struct {
	nodes []*server
	share string
	root  string
}

// startCluster starts n nodes on dsn, initialises the cluster on the first
// and unseals every node.
func startCluster(t *testing.T, dsn string, n int) *cluster {
	t.Helper()
	c := &cluster{}
	for i := range n {
		c.nodes = append(c.nodes, startNode(t, dsn, i))
	}
	ctx := context.Background()
	res, err := c.nodes[0].client(t, "").Sys().Init(ctx, sdk.InitRequest{Shares: 1, Threshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.nodes[1].client(t, "").Sys().Init(ctx, sdk.InitRequest{Shares: 1, Threshold: 1}); !errors.Is(err, sdk.ErrAlreadyInitialized) {
		t.Fatalf("second init on another node: %v", err)
	}
	c.share, c.root = res.Shares[0], res.RootToken
	for _, node := range c.nodes {
		if _, err := node.client(t, "").Sys().Unseal(ctx, c.share); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func startNode(t *testing.T, dsn string, i int) *server {
	return startServer(t, "--storage", "postgres", "--postgres-dsn", dsn, "--node-id", fmt.Sprintf("node%d", i),
		"--jobs-interval", "100ms", "--audit-checkpoint-records", "50")
}

// eventually waits, up to a bound, for an observable condition.
func eventually(t *testing.T, what string, bound time.Duration, cond func() bool) {
	t.Helper()
	if !pgtest.Wait(bound, cond) {
		t.Fatalf("%s: not within %v", what, bound)
	}
}

// leaders counts the nodes that say they run the cluster's jobs.
func leaders(t *testing.T, nodes []*server) int {
	n := 0
	for _, node := range nodes {
		if h, err := node.client(t, "").Sys().Health(context.Background()); err == nil && h.Leader {
			n++
		}
	}
	return n
}

// TestThreeNodesOnePostgres: keys made on A work on B and C, a rotation on
// A reaches B and C, a token revoked on B is refused by A and C, one node
// leads the jobs, and every node's audit chain verifies.
func TestThreeNodesOnePostgres(t *testing.T) {
	c := startCluster(t, pgtest.Database(t), 3)
	a, b, cc := c.nodes[0], c.nodes[1], c.nodes[2]
	ctx := context.Background()
	tenant, err := a.client(t, c.root).Auth().CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	onA, onB, onC := a.client(t, tenant.Token), b.client(t, tenant.Token), cc.client(t, tenant.Token)
	if _, err := onA.Keys().Create(ctx, sdk.CreateKeyRequest{Name: "orders", Type: "sm4"}); err != nil {
		t.Fatal(err)
	}
	enc, err := onB.Crypto().Encrypt(ctx, "orders", sdk.EncryptRequest{Plaintext: []byte("made on A, used on B")})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := onC.Crypto().Decrypt(ctx, "orders", sdk.DecryptRequest{Ciphertext: enc.Ciphertext})
	if err != nil || string(dec.Plaintext) != "made on A, used on B" {
		t.Fatalf("decrypt on C: %q, %v", dec.Plaintext, err)
	}

	// A rotation on A is used by B and C within the notification bound.
	if _, err := onA.Keys().Rotate(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	for _, other := range []*sdk.Client{onB, onC} {
		eventually(t, "rotation seen", 5*time.Second, func() bool {
			r, err := other.Crypto().Encrypt(ctx, "orders", sdk.EncryptRequest{Plaintext: []byte("x")})
			return err == nil && strings.HasPrefix(r.Ciphertext, "mima:v2:")
		})
	}

	// A token revoked on B is refused on A and C.
	app, err := onA.Auth().CreateToken(ctx, sdk.TokenRequest{Policies: []string{"admin"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	for _, node := range c.nodes {
		if _, err := node.client(t, app.Token).Auth().LookupSelf(ctx); err != nil {
			t.Fatalf("app token before revocation: %v", err)
		}
	}
	if err := onB.Auth().RevokeToken(ctx, app.Accessor); err != nil {
		t.Fatal(err)
	}
	for _, node := range []*server{a, cc} {
		eventually(t, "revocation seen", 5*time.Second, func() bool {
			_, err := node.client(t, app.Token).Auth().LookupSelf(ctx)
			return errors.Is(err, sdk.ErrTokenRevoked)
		})
	}

	eventually(t, "one leader", 5*time.Second, func() bool { return leaders(t, c.nodes) == 1 })
	rep, err := b.client(t, c.root).Sys().VerifyAudit(ctx)
	if err != nil || !rep.OK || len(rep.Chains) != 3 {
		t.Fatalf("audit: %+v, %v", rep, err)
	}
}

// TestKillNodeUnderLoad kills the leading node with SIGKILL under a steady
// load of writes and encryptions spread over three nodes.
func TestKillNodeUnderLoad(t *testing.T) {
	dsn := pgtest.Database(t)
	c := startCluster(t, dsn, 3)
	ctx := context.Background()
	root := func(s *server) *sdk.Client { return s.client(t, c.root) }
	if _, err := root(c.nodes[0]).Keys().Create(ctx, sdk.CreateKeyRequest{Name: "load", Type: "sm4"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a leader", 5*time.Second, func() bool { return leaders(t, c.nodes) == 1 })
	var victim int
	for i, node := range c.nodes {
		if h, _ := node.client(t, "").Sys().Health(ctx); h.Leader {
			victim = i
		}
	}

	type acked struct{ policy, ciphertext string }
	var mu sync.Mutex
	var done []acked
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			node := c.nodes[w%3]
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("p-%d-%d", w, i)
				rule := []sdk.Rule{{Operations: []string{"encrypt"}, Objects: []string{name}}}
				if _, err := root(node).Auth().PutPolicy(ctx, name, rule); err != nil {
					continue // this node may be the one killed
				}
				r, err := root(node).Crypto().Encrypt(ctx, "load", sdk.EncryptRequest{Plaintext: []byte(name)})
				if err != nil {
					continue
				}
				mu.Lock()
				done = append(done, acked{name, r.Ciphertext})
				mu.Unlock()
			}
		})
	}
	waitAcks := func(n int) {
		eventually(t, fmt.Sprintf("%d acknowledged operations", n), 30*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(done) >= n
		})
	}
	waitAcks(60)
	c.nodes[victim].kill()
	mu.Lock()
	atKill := len(done)
	mu.Unlock()
	waitAcks(atKill + 60) // the survivors keep serving
	close(stop)
	wg.Wait()

	survivors := append(append([]*server{}, c.nodes[:victim]...), c.nodes[victim+1:]...)
	eventually(t, "the leadership moves", 10*time.Second, func() bool { return leaders(t, survivors) == 1 })
	names, err := root(survivors[0]).Auth().ListPolicies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	for i, a := range done {
		if !have[a.policy] {
			t.Fatalf("acknowledged write %s is missing", a.policy)
		}
		dec, err := root(survivors[i%2]).Crypto().Decrypt(ctx, "load", sdk.DecryptRequest{Ciphertext: a.ciphertext})
		if err != nil || string(dec.Plaintext) != a.policy {
			t.Fatalf("ciphertext of %s: %q, %v", a.policy, dec.Plaintext, err)
		}
	}
	rep, err := root(survivors[0]).Sys().VerifyAudit(ctx)
	if err != nil || !rep.OK || len(rep.Chains) != 3 {
		t.Fatalf("audit after the kill: %+v, %v", rep, err)
	}
}

// TestPostgresRestartUnderLoad stops the database under two nodes: they
// answer 503 with a code meanwhile, keep running, and serve again on their
// own once it is back.
func TestPostgresRestartUnderLoad(t *testing.T) {
	db := pgtest.Private(t)
	c := startCluster(t, db.DSN(), 2)
	ctx := context.Background()
	client := c.nodes[1].client(t, c.root)
	if _, err := client.Keys().Create(ctx, sdk.CreateKeyRequest{Name: "k", Type: "sm4"}); err != nil {
		t.Fatal(err)
	}
	db.Stop()
	for _, node := range c.nodes {
		cl := node.client(t, c.root)
		_, encErr := cl.Crypto().Encrypt(ctx, "k", sdk.EncryptRequest{Plaintext: []byte("x")})
		_, putErr := cl.Auth().PutPolicy(ctx, "while-down", []sdk.Rule{{Operations: []string{"encrypt"}, Objects: []string{"*"}}})
		for _, err := range []error{encErr, putErr} {
			var se *sdk.APIError
			if !errors.As(err, &se) || se.Status != 503 || (se.Code != "storage_unavailable" && se.Code != "audit_unavailable") {
				t.Fatalf("while the database is down: %v", err)
			}
		}
		if _, err := cl.Sys().Health(ctx); err != nil {
			t.Fatalf("node stopped answering: %v", err)
		}
	}
	db.Start()
	for _, node := range c.nodes {
		cl := node.client(t, c.root)
		eventually(t, "recovery", 30*time.Second, func() bool {
			_, err := cl.Crypto().Encrypt(ctx, "k", sdk.EncryptRequest{Plaintext: []byte("x")})
			return err == nil
		})
	}
	if _, err := client.Auth().GetPolicy(ctx, "while-down"); !errors.Is(err, sdk.ErrPolicyNotFound) {
		t.Fatalf("a refused write left a policy: %v", err)
	}
	rep, err := client.Sys().VerifyAudit(ctx)
	if err != nil || !rep.OK {
		t.Fatalf("audit after the restart: %+v, %v", rep, err)
	}
}
