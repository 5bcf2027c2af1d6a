package barrier

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/inmem"
	"github.com/mimacrypto/mima/internal/storage/storagetest"
)

func rootKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 16)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func unsealed(t *testing.T) (*Barrier, storage.Backend, []byte) {
	t.Helper()
	raw := inmem.New()
	b := New(raw)
	root := rootKey(t)
	if err := b.Initialize(context.Background(), root); err != nil {
		t.Fatal(err)
	}
	return b, raw, root
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		b, _, _ := unsealed(t)
		return b
	})
}

func TestValuesAreEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	b, raw, _ := unsealed(t)
	secret := []byte("a secret value that must not be stored in clear")
	if err := b.Put(ctx, "t/a/keys/k1", secret); err != nil {
		t.Fatal(err)
	}
	stored, err := raw.Get(ctx, "b/t/a/keys/k1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, secret[:16]) {
		t.Fatal("value stored in clear")
	}
	if stored[0] != formatVersion || len(stored) != headerSize+28+len(secret) {
		t.Fatalf("unexpected stored layout: version %d, %d bytes", stored[0], len(stored))
	}
}

func TestEntryMovedToAnotherPathFails(t *testing.T) {
	ctx := context.Background()
	b, raw, _ := unsealed(t)
	if err := b.Put(ctx, "t/a/keys/k1", []byte("tenant a material")); err != nil {
		t.Fatal(err)
	}
	stored, _ := raw.Get(ctx, "b/t/a/keys/k1")
	if err := raw.Put(ctx, "b/t/b/keys/k1", stored); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "t/b/keys/k1"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("moved entry: err = %v, want ErrCorrupt", err)
	}
}

func TestTamperedEntryFails(t *testing.T) {
	ctx := context.Background()
	b, raw, _ := unsealed(t)
	if err := b.Put(ctx, "k", []byte("value")); err != nil {
		t.Fatal(err)
	}
	stored, _ := raw.Get(ctx, "b/k")
	for i := range stored {
		bad := bytes.Clone(stored)
		bad[i] ^= 0x80
		if err := raw.Put(ctx, "b/k", bad); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Get(ctx, "k"); err == nil {
			t.Fatalf("flipping byte %d went unnoticed", i)
		}
	}
	if err := raw.Put(ctx, "b/k", []byte{1, 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "k"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("short entry: %v", err)
	}
}

func TestSealedRefusesEverything(t *testing.T) {
	ctx := context.Background()
	b, _, _ := unsealed(t)
	if err := b.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	b.Seal()
	if !b.Sealed() {
		t.Fatal("not sealed after Seal")
	}
	_, errGet := b.Get(ctx, "k")
	_, errList := b.List(ctx, "", "", 0)
	_, errRotate := b.Rotate(ctx)
	_, errStatus := b.Status()
	for name, err := range map[string]error{
		"get": errGet, "list": errList, "rotate": errRotate, "status": errStatus,
		"put": b.Put(ctx, "k", nil), "delete": b.Delete(ctx, "k"),
		"batch": b.Batch(ctx, []storage.Op{{Key: "x", Value: []byte("1")}}),
	} {
		if !fault.Is(err, fault.Sealed) {
			t.Errorf("%s while sealed: %v", name, err)
		}
	}
}

func TestUnsealWithRightAndWrongKey(t *testing.T) {
	ctx := context.Background()
	b, raw, root := unsealed(t)
	if err := b.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	b.Seal()
	if err := b.Unseal(ctx, rootKey(t)); !fault.Is(err, fault.UnsealFailed) {
		t.Fatalf("wrong root key: %v", err)
	}
	if !b.Sealed() {
		t.Fatal("wrong root key unsealed the barrier")
	}
	fresh := New(raw)
	if err := fresh.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	if v, err := fresh.Get(ctx, "k"); err != nil || string(v) != "v" {
		t.Fatalf("after unseal: %q, %v", v, err)
	}
	if err := New(inmem.New()).Unseal(ctx, root); !fault.Is(err, fault.NotInitialized) {
		t.Fatalf("unseal of empty store: %v", err)
	}
}

func TestRotateKeepsOldEntriesReadable(t *testing.T) {
	ctx := context.Background()
	b, raw, root := unsealed(t)
	if err := b.Put(ctx, "old", []byte("written under term 1")); err != nil {
		t.Fatal(err)
	}
	st, err := b.Rotate(ctx)
	if err != nil || st.Term != 2 || st.Terms != 2 {
		t.Fatalf("rotate: %+v, %v", st, err)
	}
	if err := b.Put(ctx, "new", []byte("written under term 2")); err != nil {
		t.Fatal(err)
	}
	stored, _ := raw.Get(ctx, "b/new")
	if stored[4] != 2 {
		t.Fatalf("new write used term %d", stored[4])
	}
	// A restart with the same root key reads both terms.
	again := New(raw)
	if err := again.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"old": "written under term 1", "new": "written under term 2"} {
		if v, err := again.Get(ctx, k); err != nil || string(v) != want {
			t.Fatalf("%s: %q, %v", k, v, err)
		}
	}
}

func TestUnknownTermReloadsKeyring(t *testing.T) {
	// Two nodes share one store; node A rotates, node B must read A's new
	// writes without a restart.
	ctx := context.Background()
	a, raw, root := unsealed(t)
	b := New(raw)
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, "k", []byte("term 2")); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Get(ctx, "k"); err != nil || string(v) != "term 2" {
		t.Fatalf("node B: %q, %v", v, err)
	}
	if st, _ := b.Status(); st.Term != 2 {
		t.Fatalf("node B did not adopt term 2: %+v", st)
	}
}

func TestListHidesSystemSpace(t *testing.T) {
	ctx := context.Background()
	b, _, _ := unsealed(t)
	if err := b.Put(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	keys, err := b.List(ctx, "", "", 0)
	if err != nil || len(keys) != 1 || keys[0] != "a" {
		t.Fatalf("list = %v, %v", keys, err)
	}
}

func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	raw := inmem.New()
	br := New(raw)
	if err := br.Initialize(ctx, make([]byte, 16)); err != nil {
		b.Fatal(err)
	}
	if err := br.Put(ctx, "k", make([]byte, 256)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := br.Get(ctx, "k"); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzStoredEntry feeds arbitrary stored bytes to Get: it must fail
// cleanly, never panic, and never return a value it did not write.
func FuzzStoredEntry(f *testing.F) {
	ctx := context.Background()
	raw := inmem.New()
	b := New(raw)
	if err := b.Initialize(ctx, make([]byte, 16)); err != nil {
		f.Fatal(err)
	}
	if err := b.Put(ctx, "k", []byte("value")); err != nil {
		f.Fatal(err)
	}
	good, _ := raw.Get(ctx, "b/k")
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 1})
	f.Add([]byte{1, 0, 0, 0, 9, 1, 2, 3})
	f.Fuzz(func(t *testing.T, stored []byte) {
		if err := raw.Put(ctx, "b/f", stored); err != nil {
			t.Fatal(err)
		}
		if v, err := b.Get(ctx, "f"); err == nil {
			t.Fatalf("arbitrary bytes decrypted to %q", v)
		}
	})
}

// FuzzKeyring feeds arbitrary plaintext to the keyring decoder.
func FuzzKeyring(f *testing.F) {
	kr, _ := newKeyring(make([]byte, 16))
	_ = kr.addTerm(rand.Reader, time.Now())
	good, _ := kr.marshal()
	f.Add(good)
	f.Add([]byte(`{"active":1,"terms":[{"term":1,"key":"AAAAAAAAAAAAAAAAAAAAAA=="}]}`))
	f.Add([]byte(`{"active":0}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		kr, _ := newKeyring(make([]byte, 16))
		if err := kr.unmarshal(b); err != nil {
			return
		}
		if _, ok := kr.terms[kr.active]; !ok {
			t.Fatal("accepted keyring without its active term")
		}
	})
}
