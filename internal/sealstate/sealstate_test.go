package sealstate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/barrier"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/seal"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/inmem"
)

// recorder is a component that keeps one value behind the barrier.
type recorder struct {
	inits, unseals, seals int
	failUnseal            bool
	value                 string
}

func (r *recorder) Initialize(ctx context.Context, store storage.Backend) error {
	r.inits++
	return store.Put(ctx, "recorder", []byte("made at init"))
}

func (r *recorder) Unsealed(ctx context.Context, store storage.Backend) error {
	if r.failUnseal {
		return errors.New("component failed")
	}
	r.unseals++
	v, err := store.Get(ctx, "recorder")
	r.value = string(v)
	return err
}

func (r *recorder) Sealed() { r.seals++; r.value = "" }

func newCore(raw storage.Backend, comp Component, opts ...Option) (*Machine, *authn.Service) {
	b := barrier.New(raw)
	auth := authn.New()
	return New(raw, b, auth, append(opts, WithComponents(comp))...), auth
}

func TestInitUnsealSealCycle(t *testing.T) {
	ctx := context.Background()
	raw := inmem.New()
	rec := &recorder{}
	c, auth := newCore(raw, rec)
	st, err := c.Status(ctx)
	if err != nil || st.Initialized || !st.Sealed {
		t.Fatalf("fresh status: %+v, %v", st, err)
	}
	if _, err := c.Unseal(ctx, "x"); !fault.Is(err, fault.NotInitialized) {
		t.Fatalf("unseal before init: %v", err)
	}
	res, err := c.Init(ctx, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Shares) != 5 || res.RootToken == "" || rec.inits != 1 {
		t.Fatalf("init result: %d shares, token %q, inits %d", len(res.Shares), res.RootToken, rec.inits)
	}
	if !c.Sealed() {
		t.Fatal("init without KEK must leave the node sealed")
	}
	if _, err := c.Init(ctx, 5, 3); !fault.Is(err, fault.AlreadyInit) {
		t.Fatalf("second init: %v", err)
	}
	for i, s := range res.Shares[2:] {
		st, err := c.Unseal(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if wantSealed := i < 2; st.Sealed != wantSealed {
			t.Fatalf("after %d shares sealed=%v", i+1, st.Sealed)
		}
	}
	if rec.value != "made at init" {
		t.Fatalf("component did not see its state: %q", rec.value)
	}
	if _, err := auth.Authenticate(ctx, res.RootToken); err != nil {
		t.Fatalf("root token after unseal: %v", err)
	}
	c.Seal()
	if !c.Sealed() || rec.seals == 0 || rec.value != "" {
		t.Fatal("seal did not reach the component")
	}
	if _, err := auth.Authenticate(ctx, res.RootToken); !fault.Is(err, fault.Sealed) {
		t.Fatalf("authenticate while sealed: %v", err)
	}

	// A restarted node over the same store comes back sealed and unseals
	// with any three shares.
	rec2 := &recorder{}
	c2, _ := newCore(raw, rec2)
	st, _ = c2.Status(ctx)
	if !st.Initialized || !st.Sealed || st.Threshold != 3 || st.Shares != 5 {
		t.Fatalf("restarted status: %+v", st)
	}
	for _, s := range []string{res.Shares[4], res.Shares[0], res.Shares[1]} {
		if _, err := c2.Unseal(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if c2.Sealed() || rec2.value != "made at init" {
		t.Fatal("restarted node did not unseal")
	}
}

func TestUnsealErrorsLeaveNodeSealed(t *testing.T) {
	ctx := context.Background()
	c, _ := newCore(inmem.New(), &recorder{})
	res, err := c.Init(ctx, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := newCore(inmem.New(), &recorder{})
	otherRes, err := other.Init(ctx, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Unseal(ctx, res.Shares[0]); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		share string
		code  fault.Code
	}{
		{"not a share", fault.InvalidShare},
		{otherRes.Shares[1], fault.ForeignShare},
		{res.Shares[0], fault.DuplicateShare},
	} {
		st, err := c.Unseal(ctx, tc.share)
		if !fault.Is(err, tc.code) || !st.Sealed || st.Progress != 1 {
			t.Fatalf("share %.20q: %+v, %v, want %s", tc.share, st, err, tc.code)
		}
	}
	st, err := c.ResetUnseal(ctx)
	if err != nil || st.Progress != 0 {
		t.Fatalf("reset: %+v, %v", st, err)
	}
}

func TestComponentFailureSealsAgain(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	c, _ := newCore(inmem.New(), rec)
	res, err := c.Init(ctx, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	rec.failUnseal = true
	if _, err := c.Unseal(ctx, res.Shares[0]); !fault.Is(err, fault.UnsealFailed) {
		t.Fatalf("unseal with failing component: %v", err)
	}
	if !c.Sealed() {
		t.Fatal("node unsealed although a component failed")
	}
	rec.failUnseal = false
	if _, err := c.Unseal(ctx, res.Shares[0]); err != nil || c.Sealed() {
		t.Fatalf("retry: %v", err)
	}
}

func TestUnattendedKEK(t *testing.T) {
	ctx := context.Background()
	kekPath := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(kekPath, []byte("000102030405060708090a0b0c0d0e0f"), 0o600); err != nil {
		t.Fatal(err)
	}
	kek, err := seal.ReadKEKFile(kekPath)
	if err != nil {
		t.Fatal(err)
	}
	raw := inmem.New()
	c, _ := newCore(raw, &recorder{}, WithKEK(kek))
	res, err := c.Init(ctx, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sealed() {
		t.Fatal("KEK init should leave the node unsealed")
	}
	restarted, _ := newCore(raw, &recorder{}, WithKEK(kek))
	if err := restarted.AutoUnseal(ctx); err != nil || restarted.Sealed() {
		t.Fatalf("unattended unseal: %v", err)
	}
	wrong := append([]byte(nil), kek...)
	wrong[0] ^= 1
	bad, _ := newCore(raw, &recorder{}, WithKEK(wrong))
	if err := bad.AutoUnseal(ctx); !fault.Is(err, fault.UnsealFailed) || !bad.Sealed() {
		t.Fatalf("wrong KEK: %v", err)
	}
	// The recovery shares still work without the KEK.
	manual, _ := newCore(raw, &recorder{})
	for _, s := range res.Shares[:2] {
		if _, err := manual.Unseal(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if manual.Sealed() {
		t.Fatal("shares did not unseal a KEK cluster")
	}
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	c, _ := newCore(inmem.New(), &recorder{})
	if _, err := c.Rotate(ctx); !fault.Is(err, fault.Sealed) {
		t.Fatalf("rotate while sealed: %v", err)
	}
	res, _ := c.Init(ctx, 1, 1)
	if _, err := c.Unseal(ctx, res.Shares[0]); err != nil {
		t.Fatal(err)
	}
	st, err := c.Rotate(ctx)
	if err != nil || st.Term != 2 {
		t.Fatalf("rotate: %+v, %v", st, err)
	}
}
