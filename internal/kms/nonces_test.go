package kms

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/inmem"
	"github.com/mimacrypto/mima/internal/storage/postgres"
	"github.com/mimacrypto/mima/internal/storage/postgres/pgtest"
)

// encryptions returns the counts of encryptions per version that Get
// shows for key.
func encryptions(t testing.TB, s *Service, tenant, key string) []uint64 {
	t.Helper()
	ki, err := s.Get(ctx, tenant, key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]uint64, len(ki.Versions))
	for i, v := range ki.Versions {
		out[i] = v.Encryptions
	}
	return out
}

// stored returns the counts of encryptions per version in the stored
// record of key.
func stored(t testing.TB, st storage.Backend, tenant, key string) []uint64 {
	t.Helper()
	r, err := loadRecord(ctx, st, tenant, key, key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.wipe()
	out := make([]uint64, len(r.Versions))
	for i, v := range r.Versions {
		out[i] = v.Encryptions
	}
	return out
}

// ctVersion returns the version a ciphertext names.
func ctVersion(t testing.TB, ct string) int {
	t.Helper()
	v, _, ok := parseCiphertext(ct)
	if !ok {
		t.Fatalf("not a ciphertext: %q", ct)
	}
	return v
}

// TestNonceCountEveryPath: every operation that makes an SM4-GCM nonce
// under a key version counts against that version, exactly; SM2
// encryption and the operations that make no nonce do not.
func TestNonceCountEveryPath(t *testing.T) {
	s, st, _ := newTestService(t)
	mustCreate(t, s, "acme", "k", device.SM4, derived)
	mustCreate(t, s, "acme", "other", device.SM4)
	mustCreate(t, s, "acme", "asym", device.SM2)
	dev := &Derivation{DeviceID: "car-1"}
	ct := mustEncrypt(t, s, "acme", "k", EncryptRequest{Plaintext: []byte("p")})
	otherCT := mustEncrypt(t, s, "acme", "other", EncryptRequest{Plaintext: []byte("p")})
	asymCT := mustEncrypt(t, s, "acme", "asym", EncryptRequest{Plaintext: []byte("p")})
	two := func(r EncryptRequest) []EncryptRequest { return []EncryptRequest{r, r} }

	for _, tc := range []struct {
		name string
		n    uint64 // encryptions it makes under k version 1
		run  func() error
	}{
		{"encrypt", 1, func() error {
			_, err := s.Encrypt(ctx, "acme", "k", EncryptRequest{Plaintext: []byte("p")})
			return err
		}},
		{"encrypt with a derivation", 1, func() error {
			_, err := s.Encrypt(ctx, "acme", "k", EncryptRequest{Plaintext: []byte("p"), Derivation: dev})
			return err
		}},
		{"encrypt batch", 2, func() error {
			_, err := s.EncryptBatch(ctx, "acme", "k", two(EncryptRequest{Plaintext: []byte("p")}))
			return err
		}},
		{"data key", 1, func() error {
			_, err := s.DataKey(ctx, "acme", "k", DataKeyRequest{Kind: DataKeySM4})
			return err
		}},
		{"data key batch", 3, func() error {
			_, err := s.DataKeyBatch(ctx, "acme", "k", []DataKeyRequest{{Kind: DataKeySM4}, {Kind: DataKeySM2}, {Kind: DataKeySM4}})
			return err
		}},
		{"re-encrypt within the key", 1, func() error {
			_, err := s.ReEncrypt(ctx, "acme", "k", "", ReEncryptRequest{Ciphertext: ct})
			return err
		}},
		{"re-encrypt to the key", 1, func() error {
			_, err := s.ReEncrypt(ctx, "acme", "other", "k", ReEncryptRequest{Ciphertext: otherCT})
			return err
		}},
		{"re-encrypt batch", 2, func() error {
			_, err := s.ReEncryptBatch(ctx, "acme", "k", "", []ReEncryptRequest{{Ciphertext: ct}, {Ciphertext: ct}})
			return err
		}},
		{"derive", 1, func() error {
			_, err := s.Derive(ctx, "acme", "k", DeriveRequest{Derivation: *dev})
			return err
		}},
		{"derive batch", 2, func() error {
			_, err := s.DeriveBatch(ctx, "acme", "k", []DeriveRequest{{Derivation: *dev}, {Derivation: *dev}})
			return err
		}},
		{"decrypt", 0, func() error {
			_, err := s.Decrypt(ctx, "acme", "k", DecryptRequest{Ciphertext: ct})
			return err
		}},
		{"MAC", 0, func() error {
			_, err := s.MAC(ctx, "acme", "k", MACRequest{Input: []byte("m")})
			return err
		}},
		{"encryption refused for a bad derivation", 0, func() error {
			_, err := s.Encrypt(ctx, "acme", "k", EncryptRequest{Plaintext: []byte("p"), Derivation: &Derivation{}})
			if !fault.Is(err, fault.InvalidArgument) {
				return fmt.Errorf("got %v, want invalid_argument", err)
			}
			return nil
		}},
		{"re-encrypt out of the key", 0, func() error {
			_, err := s.ReEncrypt(ctx, "acme", "k", "other", ReEncryptRequest{Ciphertext: ct})
			return err
		}},
	} {
		before := encryptions(t, s, "acme", "k")[0]
		if err := tc.run(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := encryptions(t, s, "acme", "k")[0]; got != before+tc.n {
			t.Errorf("%s: count went from %d to %d, want +%d", tc.name, before, got, tc.n)
		}
	}
	if got := encryptions(t, s, "acme", "asym"); got[0] != 0 {
		t.Errorf("an sm2 key counts %d encryptions", got[0])
	}
	if _, err := s.Decrypt(ctx, "acme", "asym", DecryptRequest{Ciphertext: asymCT}); err != nil {
		t.Fatal(err)
	}
	// The store holds the reservation: never less than what was made.
	if shown, kept := encryptions(t, s, "acme", "k")[0], stored(t, st, "acme", "k")[0]; kept < shown || shown != 16 {
		t.Errorf("Get shows %d encryptions (want 16), the store keeps %d", shown, kept)
	}
}

// TestNonceReservationCrash: a service that stops without sealing leaves
// its whole reservation counted, so a new service on the same store
// starts after it; a clean seal gives back only what no one reserved
// after.
func TestNonceReservationCrash(t *testing.T) {
	st := inmem.New()
	a := New(sharedDevice)
	if err := a.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, a, "acme", "k", device.SM4)
	for range 10 {
		mustEncrypt(t, a, "acme", "k", EncryptRequest{Plaintext: []byte("p")})
	}
	if got := encryptions(t, a, "acme", "k")[0]; got != 10 {
		t.Fatalf("a counts %d encryptions, want 10", got)
	}
	reserved := stored(t, st, "acme", "k")[0]
	if reserved < 10 {
		t.Fatalf("the store counts %d encryptions, fewer than the 10 made", reserved)
	}

	// a crashes: b knows nothing of a's unused nonces.
	b := New(sharedDevice)
	if err := b.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	if got := encryptions(t, b, "acme", "k")[0]; got != reserved {
		t.Fatalf("after the crash b counts %d encryptions, want the %d reserved", got, reserved)
	}
	for range 3 {
		mustEncrypt(t, b, "acme", "k", EncryptRequest{Plaintext: []byte("p")})
	}
	if got := encryptions(t, b, "acme", "k")[0]; got != reserved+3 {
		t.Fatalf("b counts %d encryptions, want %d", got, reserved+3)
	}
	if got := stored(t, st, "acme", "k")[0]; got <= reserved {
		t.Fatalf("b's reservation did not start after a's: the store counts %d", got)
	}

	// a seals late: b reserved after it, so a gives nothing back. b seals:
	// its unused nonces return.
	a.Sealed()
	b.Sealed()
	if got := stored(t, st, "acme", "k")[0]; got != reserved+3 {
		t.Fatalf("after both sealed the store counts %d, want %d", got, reserved+3)
	}
}

// TestNonceLimitRotates: at the limit the key rotates and encryption moves
// to the new version; a version past its limit is refused, changing
// nothing.
func TestNonceLimitRotates(t *testing.T) {
	s, st, _ := newTestService(t, WithNonceLimit(5))
	mustCreate(t, s, "acme", "k", device.SM4, derived)
	perVersion := map[int]int{}
	for range 12 {
		perVersion[ctVersion(t, mustEncrypt(t, s, "acme", "k", EncryptRequest{Plaintext: []byte("p")}))]++
	}
	if perVersion[1] != 5 || perVersion[2] != 5 || perVersion[3] != 2 {
		t.Fatalf("ciphertexts per version: %v, want 5, 5, 2", perVersion)
	}
	if got := fmt.Sprint(stored(t, st, "acme", "k")); got != "[5 5 2]" {
		t.Fatalf("stored counts %s, want [5 5 2]", got)
	}

	_, err := s.Encrypt(ctx, "acme", "k", EncryptRequest{Plaintext: []byte("p"), Version: 1})
	wantCode(t, "encrypting with a spent version", err, fault.KeyVersionExhausted)
	_, err = s.Derive(ctx, "acme", "k", DeriveRequest{Derivation: Derivation{DeviceID: "d"}, Version: 2})
	wantCode(t, "deriving under a spent version", err, fault.KeyVersionExhausted)
	if got := fmt.Sprint(stored(t, st, "acme", "k")); got != "[5 5 2]" {
		t.Fatalf("refusals changed the counts to %s", got)
	}

	// Every path follows the rotation.
	for range 3 {
		mustEncrypt(t, s, "acme", "k", EncryptRequest{Plaintext: []byte("p")})
	}
	dk, err := s.DataKey(ctx, "acme", "k", DataKeyRequest{Kind: DataKeySM4})
	if err != nil || ctVersion(t, dk.Wrapped) != 4 {
		t.Fatalf("data key after the limit: %v, %v", dk.Wrapped, err)
	}
	d, err := s.Derive(ctx, "acme", "k", DeriveRequest{Derivation: Derivation{DeviceID: "d"}})
	if err != nil || d.Version != 4 || ctVersion(t, d.Wrapped) != 4 {
		t.Fatalf("derive after the limit: %+v, %v", d, err)
	}
	pt, err := s.Decrypt(ctx, "acme", "k", DecryptRequest{Ciphertext: d.Wrapped})
	if err != nil || len(pt) != device.SM4KeySize {
		t.Fatalf("the derived key wrapped under the new version does not unwrap: %v", err)
	}
	if got := fmt.Sprint(encryptions(t, s, "acme", "k")); got != "[5 5 5 2]" {
		t.Fatalf("counts %s, want [5 5 5 2]", got)
	}
}

// TestNonceLimitDisabledKey: a reservation does not rotate a key that was
// disabled since it was cached.
func TestNonceLimitDisabledKey(t *testing.T) {
	s, st, _ := newTestService(t, WithNonceLimit(1))
	mustCreate(t, s, "acme", "k", device.SM4)
	mustEncrypt(t, s, "acme", "k", EncryptRequest{Plaintext: []byte("p")})
	e, err := s.use(ctx, "acme", "k", tSM4, "encryption")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Disable(ctx, "acme", "k"); err != nil {
		t.Fatal(err)
	}
	_, err = s.encrypt(ctx, e, "k", EncryptRequest{Plaintext: []byte("p")})
	wantCode(t, "reserving for a disabled key", err, fault.KeyDisabled)
	if got := fmt.Sprint(stored(t, st, "acme", "k")); got != "[1]" {
		t.Fatalf("stored counts %s, want [1]", got)
	}
}

// hammer has workers encrypt n times each with key k, through services
// in turn, and returns how many ciphertexts each version made.
func hammer(t *testing.T, services []*Service, workers, n int) map[int]int {
	t.Helper()
	var (
		mu         sync.Mutex
		perVersion = map[int]int{}
		wg         sync.WaitGroup
	)
	for w := range workers {
		s := services[w%len(services)]
		wg.Go(func() {
			mine := map[int]int{}
			for range n {
				ct, err := s.Encrypt(ctx, "acme", "k", EncryptRequest{Plaintext: []byte("p")})
				if err != nil {
					t.Error(err)
					return
				}
				v, _, _ := parseCiphertext(ct)
				mine[v]++
			}
			mu.Lock()
			defer mu.Unlock()
			for v, c := range mine {
				perVersion[v] += c
			}
		})
	}
	wg.Wait()
	return perVersion
}

// checkNeverPast fails if a version made more encryptions than limit or
// than its stored count, or if encryptions went missing.
func checkNeverPast(t *testing.T, perVersion map[int]int, stored []uint64, limit, total int) {
	t.Helper()
	sum := 0
	for v := 1; v <= len(stored); v++ {
		c := perVersion[v]
		sum += c
		if c > limit || stored[v-1] > uint64(limit) || uint64(c) > stored[v-1] {
			t.Errorf("version %d made %d encryptions, counts %d; limit %d", v, c, stored[v-1], limit)
		}
	}
	if sum != total || len(perVersion) != len(stored) {
		t.Errorf("made %d encryptions under versions %v, want %d under %d versions", sum, perVersion, total, len(stored))
	}
}

// TestNonceLimitConcurrent: however many callers race, no version makes
// more encryptions than the limit (run with -race).
func TestNonceLimitConcurrent(t *testing.T) {
	const limit, workers, n = 3000, 8, 1000 // blocks of 2
	s, st, _ := newTestService(t, WithNonceLimit(limit))
	mustCreate(t, s, "acme", "k", device.SM4)
	perVersion := hammer(t, []*Service{s}, workers, n)
	counts := stored(t, st, "acme", "k")
	checkNeverPast(t, perVersion, counts, limit, workers*n)
	if len(counts) != 3 {
		t.Errorf("%d encryptions with a limit of %d made %d versions, want 3", workers*n, limit, len(counts))
	}
}

// TestNonceLimitTwoNodes: two nodes on one PostgreSQL store reserve
// under the cluster lock, so neither reuses the other's nonces and no
// version passes the limit.
func TestNonceLimitTwoNodes(t *testing.T) {
	dsn := pgtest.Database(t)
	const limit, workers, n = 150, 4, 100
	var nodes []*Service
	var stores []storage.Backend
	for range 2 {
		pg, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pg.Close() })
		s := New(sharedDevice, WithNonceLimit(limit))
		if err := s.Unsealed(ctx, pg); err != nil {
			t.Fatal(err)
		}
		nodes, stores = append(nodes, s), append(stores, pg)
	}
	mustCreate(t, nodes[0], "acme", "k", device.SM4)
	perVersion := hammer(t, nodes, workers, n)
	for _, s := range nodes {
		s.Sealed()
	}
	counts := stored(t, stores[0], "acme", "k")
	checkNeverPast(t, perVersion, counts, limit, workers*n)
	if len(counts) < (workers*n+limit-1)/limit {
		t.Errorf("counts %v: too few versions for %d encryptions", counts, workers*n)
	}
}

// BenchmarkNonceSpend measures what counting adds to each SM4-GCM
// encryption.
func BenchmarkNonceSpend(b *testing.B) {
	s := benchService(b)
	e, err := s.use(ctx, "acme", "sym", tSM4, "encryption")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.spend(ctx, e, "sym", 1, true); err != nil {
			b.Fatal(err)
		}
	}
}
