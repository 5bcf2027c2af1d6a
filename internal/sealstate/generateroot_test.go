package sealstate

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/seal"
	"github.com/mimacrypto/mima/internal/storage/inmem"
)

// unsealedCore returns a machine initialised with 3 shares of which 2 unseal,
// unsealed, with its shares.
func unsealedCore(t *testing.T, opts ...InitOption) (*Machine, *authn.Service, InitResult) {
	t.Helper()
	ctx := context.Background()
	c, auth := newCore(inmem.New(), &recorder{})
	res, err := c.Init(ctx, 3, 2, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Shares[:2] {
		if _, err := c.Unseal(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	return c, auth, res
}

func otp(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, authn.TokenLength)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGenerateRootQuorum(t *testing.T) {
	ctx := context.Background()
	c, auth, res := unsealedCore(t)
	_, _, foreign := unsealedCore(t)
	pad := otp(t)
	st, err := c.StartGenerateRoot(ctx, pad, time.Hour)
	if err != nil || !st.Started || st.Required != 2 || st.Progress != 0 {
		t.Fatalf("start: %+v, %v", st, err)
	}
	if st, err = c.UpdateGenerateRoot(ctx, st.Nonce, res.Shares[2]); err != nil || st.Progress != 1 || st.Complete {
		t.Fatalf("first share: %+v, %v", st, err)
	}
	for _, tc := range []struct {
		share string
		code  fault.Code
	}{
		{res.Shares[2], fault.DuplicateShare},
		{foreign.Shares[0], fault.ForeignShare},
		{"mima-share-1:garbage", fault.InvalidShare},
	} {
		if _, err := c.UpdateGenerateRoot(ctx, st.Nonce, tc.share); !fault.Is(err, tc.code) {
			t.Errorf("share %q: %v, want %s", tc.share, err, tc.code)
		}
	}
	if got, _ := c.GenerateRootStatus(ctx); got.Progress != 1 {
		t.Fatalf("refused shares changed the progress: %+v", got)
	}
	// Generate-root has its own shares: unseal progress is untouched.
	if s, _ := c.Status(ctx); s.Progress != 0 {
		t.Fatalf("unseal progress %d", s.Progress)
	}
	st, err = c.UpdateGenerateRoot(ctx, st.Nonce, res.Shares[0])
	if err != nil || !st.Complete || len(st.EncodedToken) != authn.TokenLength {
		t.Fatalf("second share: %+v, %v", st, err)
	}
	tok := make([]byte, len(pad))
	for i := range tok {
		tok[i] = st.EncodedToken[i] ^ pad[i]
	}
	rec, err := auth.Authenticate(ctx, string(tok))
	if err != nil || !rec.Root || rec.ExpiresAt.IsZero() {
		t.Fatalf("new root token: %+v, %v", rec, err)
	}
	if got, _ := c.GenerateRootStatus(ctx); got.Started {
		t.Fatalf("attempt still running after completion: %+v", got)
	}
}

// TestGenerateRootChecksTheKeyring: shares that match a forged seal
// configuration (its commitments are stored in clear) rebuild a key that
// does not open the keyring, and yield no token.
func TestGenerateRootChecksTheKeyring(t *testing.T) {
	ctx := context.Background()
	c, _, _ := unsealedCore(t)
	_, forgedShares, forged, err := seal.Generate(rand.Reader, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.cfg = &forged
	c.mu.Unlock()
	st, err := c.StartGenerateRoot(ctx, otp(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	st, err = c.UpdateGenerateRoot(ctx, st.Nonce, forgedShares[0])
	if !fault.Is(err, fault.UnsealFailed) || len(st.EncodedToken) != 0 {
		t.Fatalf("forged shares: %+v, %v", st, err)
	}
}

func TestGenerateRootEndsWithSeal(t *testing.T) {
	ctx := context.Background()
	c, _, res := unsealedCore(t)
	st, err := c.StartGenerateRoot(ctx, otp(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateGenerateRoot(ctx, st.Nonce, res.Shares[0]); err != nil {
		t.Fatal(err)
	}
	c.Seal()
	for _, s := range res.Shares[1:] {
		if _, err := c.Unseal(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.UpdateGenerateRoot(ctx, st.Nonce, res.Shares[1]); !fault.Is(err, fault.NotFound) {
		t.Fatalf("attempt survived a seal: %v", err)
	}
}

func TestInitRootTokenTTL(t *testing.T) {
	ctx := context.Background()
	_, auth, res := unsealedCore(t, RootTokenTTL(48*time.Hour))
	rec, err := auth.Authenticate(ctx, res.RootToken)
	if err != nil || rec.ExpiresAt.IsZero() {
		t.Fatalf("root token with a TTL: %+v, %v", rec, err)
	}
	bad, _ := newCore(inmem.New(), &recorder{})
	if _, err := bad.Init(ctx, 1, 1, RootTokenTTL(-time.Hour)); !fault.Is(err, fault.InvalidArgument) {
		t.Fatalf("negative root ttl: %v", err)
	}
	if st, _ := bad.Status(ctx); st.Initialized {
		t.Fatal("a refused init initialised the cluster")
	}
}
