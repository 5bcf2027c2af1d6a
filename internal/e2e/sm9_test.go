package e2e

import (
	"context"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/sdk/sm9dev"
)

// sm9Terminals is how many terminals TestSM9Fleet enrols: 8,000 with
// MIMA_E2E_SM9_TERMINALS=8000 (issue 14's figure, about a minute on two
// cores), a few hundred by default.
func sm9Terminals(t *testing.T) int {
	if v := os.Getenv("MIMA_E2E_SM9_TERMINALS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 20 {
			t.Fatalf("MIMA_E2E_SM9_TERMINALS=%q: want a count of at least 20", v)
		}
		return n
	}
	return 300
}

// simTerminal is one simulated terminal: its SM2 key, and the SM9 key the
// KGC delivered to it.
type simTerminal struct {
	id  string
	sm2 *sm2.PrivateKey
	key *sm9dev.Key
}

// TestSM9Fleet is issue 14's end-to-end run against the real binary: a
// fleet of terminals is enrolled (extraction in streamed batches, each
// key delivered to its terminal's SM2 key), every terminal logs in with
// its SM9 key and has its signed telemetry verified with its login
// token; then 10 identities are revoked, and their next login and their
// signatures are refused while every other terminal still passes.
func TestSM9Fleet(t *testing.T) {
	ctx := context.Background()
	n := sm9Terminals(t)
	srv, root := devServer(t, "--public-rate-limit", "0")
	admin := srv.client(t, root)
	if _, err := admin.Keys().Create(ctx, sdk.CreateKeyRequest{Name: "kgc1", Type: "sm9-sign-master"}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Auth().PutPolicy(ctx, "telemetry", []sdk.Rule{{Operations: []string{"sm9.verify"}, Objects: []string{"kgc1"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Auth().PutLoginRule(ctx, sdk.LoginRule{Name: "rtus", Match: "sm9", KGC: "kgc1", Pattern: "rtu-*", Policies: []string{"telemetry"}, TTL: "1h"}); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	fleet := make([]*simTerminal, n)
	parallelDo(n, func(i int) {
		k, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			t.Error(err)
			return
		}
		fleet[i] = &simTerminal{id: "rtu-" + strconv.Itoa(i) + "@field-7", sm2: k}
	})
	if t.Failed() {
		t.FailNow()
	}
	const batch = 1000
	for lo := 0; lo < n; lo += batch {
		part := fleet[lo:min(lo+batch, n)]
		reqs := make([]sdk.SM9ExtractRequest, len(part))
		for i, term := range part {
			der, err := smx509.MarshalPKIXPublicKey(&term.sm2.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			reqs[i] = sdk.SM9ExtractRequest{ID: term.id, Deliver: sdk.SM9Delivery{SM2PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}}
		}
		i := 0
		err := admin.SM9().ExtractStream(ctx, "kgc1", reqs, func(x sdk.SM9Extracted) error {
			term := part[i]
			i++
			if x.Error != nil || x.ID != term.id {
				t.Fatalf("extraction of %s: %+v", term.id, x)
			}
			var err error
			term.key, err = sm9dev.OpenEnvelope(term.id, x.Envelope, term.sm2)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d terminals: extracted and delivered in %s", n, time.Since(start).Round(time.Millisecond))

	client, err := sdk.New(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	// round logs every terminal in and has its telemetry verified; it
	// returns the identities refused, each with the code of its refusal.
	round := func() map[string]string {
		var mu sync.Mutex
		refused := map[string]string{}
		parallelDo(n, func(i int) {
			term := fleet[i]
			code := terminalRound(ctx, client, srv.addr, term)
			if code != "" {
				mu.Lock()
				refused[term.id] = code
				mu.Unlock()
			}
		})
		return refused
	}
	start = time.Now()
	if refused := round(); len(refused) > 0 {
		t.Fatalf("%d terminals refused before any revocation: %v", len(refused), refused)
	}
	t.Logf("%d terminals: logged in and verified in %s", n, time.Since(start).Round(time.Millisecond))

	revoked := make([]string, 10)
	for i := range revoked {
		revoked[i] = fleet[i*(n/10)].id
	}
	if err := admin.SM9().Revoke(ctx, "kgc1", revoked); err != nil {
		t.Fatal(err)
	}
	refused := round()
	if len(refused) != len(revoked) {
		t.Fatalf("%d terminals refused after revoking %d: %v", len(refused), len(revoked), refused)
	}
	for _, id := range revoked {
		if refused[id] != "identity_revoked" {
			t.Errorf("revoked %s: %q, want identity_revoked", id, refused[id])
		}
	}
	// Their signatures are refused on the public route too.
	sig, err := fleet[0].key.Sign([]byte("telemetry"))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := client.SM9().VerifyPublic(ctx, "default", "kgc1", sdk.SM9VerifyRequest{ID: fleet[0].id, Input: []byte("telemetry"), Signature: sig}); err != nil || v.Valid || v.Reason != "identity_revoked" {
		t.Fatalf("a revoked terminal's signature on the public route: %+v, %v", v, err)
	}
}

// terminalRound logs term in and has its signed telemetry verified with
// the login token; it returns "" or the error code that refused it.
func terminalRound(ctx context.Context, c *sdk.Client, addr string, term *simTerminal) string {
	res, err := term.key.Login(ctx, c, "default", "kgc1")
	if err != nil {
		return apiCode(err)
	}
	telemetry := []byte(`{"id":"` + term.id + `","t":21.5}`)
	sig, err := term.key.Sign(telemetry)
	if err != nil {
		return "sign: " + err.Error()
	}
	tc, err := sdk.New(addr, sdk.WithToken(res.Token))
	if err != nil {
		return err.Error()
	}
	v, err := tc.SM9().Verify(ctx, "kgc1", sdk.SM9VerifyRequest{ID: term.id, Input: telemetry, Signature: sig})
	if err != nil {
		return apiCode(err)
	}
	if !v.Valid {
		return "telemetry not valid: " + v.Reason
	}
	return ""
}

// parallelDo runs fn(0..n-1) on 8 goroutines.
func parallelDo(n int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// apiCode is the error code of an API error, "" for any other error.
func apiCode(err error) string {
	var e *sdk.APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
