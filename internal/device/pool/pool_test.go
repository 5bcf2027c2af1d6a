package pool_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/device/devicetest"
	"github.com/mimacrypto/mima/internal/device/pool"
)

var ctx = context.Background()

func newPool(t *testing.T, members ...pool.Member) *pool.Pool {
	t.Helper()
	p, err := pool.New(members)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func soft(name string) pool.Member {
	return pool.Member{Name: name, Type: "software", Device: device.NewSoftware()}
}

func TestConformance(t *testing.T) {
	devicetest.Run(t, func(t *testing.T) device.Device { return newPool(t, soft("soft0"), soft("soft1")) })
}

// faulty is a device that can be killed: then every call to it and to
// the keys it opened fails with ErrUnavailable.
type faulty struct {
	*device.Software
	dead  atomic.Bool
	lost  atomic.Bool // Open finds no key
	calls atomic.Int64
}

func (f *faulty) fail() error {
	f.calls.Add(1)
	if f.dead.Load() {
		return device.ErrUnavailable
	}
	return nil
}

func (f *faulty) Generate(ctx context.Context, t device.KeyType) ([]byte, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Software.Generate(ctx, t)
}

func (f *faulty) Open(ctx context.Context, t device.KeyType, stored []byte) (device.Key, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	if f.lost.Load() {
		return nil, device.ErrKeyNotFound
	}
	k, err := f.Software.Open(ctx, t, stored)
	if err != nil {
		return nil, err
	}
	switch t {
	case device.SM4:
		return faultySM4{k.(sm4Like), f}, nil
	case device.SM2:
		return faultySM2{k.(sm2Like), f}, nil
	}
	return k, nil
}

func (f *faulty) Unwrap(ctx context.Context, wk device.Key, t device.KeyType, wrapped []byte) ([]byte, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	if k, ok := wk.(faultySM2); ok {
		wk = k.sm2Like
	}
	return f.Software.Unwrap(ctx, wk, t, wrapped)
}

func (f *faulty) Backup(ctx context.Context, t device.KeyType, stored []byte) ([]byte, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Software.Backup(ctx, t, stored)
}

func (f *faulty) Restore(ctx context.Context, t device.KeyType, b []byte) ([]byte, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Software.Restore(ctx, t, b)
}

type sm4Like interface {
	device.AEAD
	device.MAC
}

type faultySM4 struct {
	sm4Like
	f *faulty
}

func (k faultySM4) Seal(ctx context.Context, dst []byte, r io.Reader, pt, aad []byte) ([]byte, error) {
	if err := k.f.fail(); err != nil {
		return nil, err
	}
	return k.sm4Like.Seal(ctx, dst, r, pt, aad)
}

func (k faultySM4) Open(ctx context.Context, dst, sealed, aad []byte) ([]byte, error) {
	if err := k.f.fail(); err != nil {
		return nil, err
	}
	return k.sm4Like.Open(ctx, dst, sealed, aad)
}

func (k faultySM4) MAC(ctx context.Context, dst, msg []byte) ([]byte, error) {
	if err := k.f.fail(); err != nil {
		return nil, err
	}
	return k.sm4Like.MAC(ctx, dst, msg)
}

type sm2Like interface {
	device.Signer
	device.Decrypter
}

type faultySM2 struct {
	sm2Like
	f *faulty
}

func (k faultySM2) Sign(ctx context.Context, digest []byte) ([]byte, error) {
	if err := k.f.fail(); err != nil {
		return nil, err
	}
	return k.sm2Like.Sign(ctx, digest)
}

func (k faultySM2) Public() *ecdsa.PublicKey { return k.sm2Like.Public() }

// TestKilledDeviceUnderLoad kills one of two devices while goroutines
// encrypt, decrypt and sign: no request fails, the killed device is taken
// out after its first failure, and the health check brings it back once
// it is alive.
func TestKilledDeviceUnderLoad(t *testing.T) {
	a, b := &faulty{Software: device.NewSoftware()}, &faulty{Software: device.NewSoftware()}
	p := newPool(t, pool.Member{Name: "a", Type: "software", Device: a}, pool.Member{Name: "b", Type: "software", Device: b})
	aead := open(t, p, device.SM4).(device.AEAD)
	signer := open(t, p, device.SM2).(device.Signer)
	e, err := device.SM2Digest(signer.Public(), nil, []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 8, 50
	killAt := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	var done atomic.Int64
	for range workers {
		wg.Go(func() {
			for range rounds {
				if done.Add(1) == workers*rounds/2 {
					a.dead.Store(true)
					close(killAt)
				}
				sealed, err := aead.Seal(ctx, nil, p.Random(), []byte("m"), nil)
				if err == nil {
					_, err = aead.Open(ctx, nil, sealed, nil)
				}
				if err == nil {
					var sig []byte
					if sig, err = signer.Sign(ctx, e); err == nil && !device.VerifySM2(signer.Public(), e, sig) {
						err = errors.New("a signature does not verify")
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a request failed while a peer could serve it: %v", err)
	}
	<-killAt
	if st, _ := p.MemberStatus("a"); st.Healthy || st.Errors == 0 {
		t.Fatalf("the killed device is still in: %+v", st)
	}
	// Taken out, it gets no more calls.
	before := a.calls.Load()
	for range 10 {
		if _, err := aead.Seal(ctx, nil, p.Random(), []byte("m"), nil); err != nil {
			t.Fatal(err)
		}
	}
	if a.calls.Load() != before {
		t.Fatal("a device that is down still gets requests")
	}
	p.CheckHealth(ctx)
	if st, _ := p.MemberStatus("a"); st.Healthy || st.LastError == "" {
		t.Fatalf("a dead device passed its health check: %+v", st)
	}
	a.dead.Store(false)
	p.CheckHealth(ctx)
	if st, _ := p.MemberStatus("a"); !st.Healthy || st.LastError != "" || st.LastCheck.IsZero() {
		t.Fatalf("a revived device is still out: %+v", st)
	}
}

func open(t *testing.T, d device.Device, typ device.KeyType) device.Key {
	t.Helper()
	stored, err := d.Generate(ctx, typ)
	if err != nil {
		t.Fatal(err)
	}
	k, err := d.Open(ctx, typ, stored)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestAllDown: when no device holding a key serves, the error is
// ErrUnavailable.
func TestAllDown(t *testing.T) {
	a, b := &faulty{Software: device.NewSoftware()}, &faulty{Software: device.NewSoftware()}
	p := newPool(t, pool.Member{Name: "a", Type: "software", Device: a}, pool.Member{Name: "b", Type: "software", Device: b})
	k := open(t, p, device.SM4).(device.MAC)
	a.dead.Store(true)
	b.dead.Store(true)
	if _, err := k.MAC(ctx, nil, []byte("m")); !errors.Is(err, device.ErrUnavailable) {
		t.Fatalf("MAC with every device dead: %v, want ErrUnavailable", err)
	}
	if _, err := p.Generate(ctx, device.SM4); !errors.Is(err, device.ErrUnavailable) {
		t.Fatalf("Generate with every device down: %v, want ErrUnavailable", err)
	}
}

// TestHealthCheckTakesOutAWrongDevice: a device that answers wrongly
// (here: a check that fails) is out, and requests go to its peer.
func TestHealthCheckTakesOutAWrongDevice(t *testing.T) {
	a, b := &faulty{Software: device.NewSoftware()}, &faulty{Software: device.NewSoftware()}
	bad := errors.New("known answer differs")
	p, err := pool.New([]pool.Member{{Name: "a", Type: "software", Device: a}, {Name: "b", Type: "software", Device: b}},
		pool.WithCheck(func(_ context.Context, d device.Device) error {
			if d == a {
				return bad
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	k := open(t, p, device.SM4).(device.MAC)
	p.CheckHealth(ctx)
	before := a.calls.Load()
	for range 10 {
		if _, err := k.MAC(ctx, nil, []byte("m")); err != nil {
			t.Fatal(err)
		}
	}
	if a.calls.Load() != before {
		t.Fatal("a device that failed its health check still gets requests")
	}
	if st, _ := p.MemberStatus("a"); st.Healthy || !strings.Contains(st.LastError, "known answer") {
		t.Fatalf("status %+v", st)
	}
}

// TestPlacementAndReplicas: a key placed on a device is created there and
// replicated to its peers of the same type only.
func TestPlacementAndReplicas(t *testing.T) {
	a, b, h := &faulty{Software: device.NewSoftware()}, &faulty{Software: device.NewSoftware()}, &faulty{Software: device.NewSoftware()}
	p := newPool(t, pool.Member{Name: "a", Type: "software", Device: a}, pool.Member{Name: "b", Type: "software", Device: b},
		pool.Member{Name: "hsm", Type: "other", Device: h})
	stored, err := p.Generate(device.WithPlacement(ctx, "hsm"), device.SM4)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(stored, []byte(`"on":"hsm"`)) || bytes.Contains(stored, []byte(`"device":"a"`)) {
		t.Fatalf("a key placed on hsm: %q", stored)
	}
	k, err := p.Open(ctx, device.SM4, stored)
	if err != nil {
		t.Fatal(err)
	}
	h.dead.Store(true)
	if _, err := k.(device.MAC).MAC(ctx, nil, []byte("m")); !errors.Is(err, device.ErrUnavailable) {
		t.Fatalf("a key on a dead device alone: %v, want ErrUnavailable", err)
	}
	stored, err = p.Generate(ctx, device.SM4)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(stored, []byte(`"device":"a"`)) || !bytes.Contains(stored, []byte(`"device":"b"`)) {
		t.Fatalf("a key without placement is not on both software devices: %q", stored)
	}
	if _, err := p.Generate(device.WithPlacement(ctx, "nope"), device.SM4); !errors.Is(err, device.ErrNotSupported) {
		t.Fatalf("placement on an unknown device: %v", err)
	}
	if _, err := p.Generate(device.WithPlacement(ctx, "hsm"), device.SM4); !errors.Is(err, device.ErrUnavailable) {
		t.Fatalf("placement on a device that is down: %v", err)
	}
}

// TestLegacyStoredForm: a stored form of the default device alone (a
// record written before the pool) opens in the pool.
func TestLegacyStoredForm(t *testing.T) {
	sw := device.NewSoftware()
	raw, err := sw.Generate(ctx, device.HMACSM3)
	if err != nil {
		t.Fatal(err)
	}
	want := mac(t, mustOpen(t, sw, device.HMACSM3, raw))
	p := newPool(t, pool.Member{Name: "soft0", Type: "software", Device: sw}, soft("soft1"))
	if got := mac(t, mustOpen(t, p, device.HMACSM3, raw)); !bytes.Equal(got, want) {
		t.Fatal("a legacy stored form opens to another key in the pool")
	}
	b, err := p.Backup(ctx, device.HMACSM3, raw)
	if err != nil || !bytes.Equal(b, raw) {
		t.Fatalf("the backup form of a software key through the pool is not the software one: %v", err)
	}
}

func mustOpen(t *testing.T, d device.Device, typ device.KeyType, stored []byte) device.Key {
	t.Helper()
	k, err := d.Open(ctx, typ, stored)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mac(t *testing.T, k device.Key) []byte {
	t.Helper()
	m, err := k.(device.MAC).MAC(ctx, nil, []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDrain: a drained device gets no new keys and no requests for keys
// that a peer holds, and comes back when undrained.
func TestDrain(t *testing.T) {
	a, b := &faulty{Software: device.NewSoftware()}, &faulty{Software: device.NewSoftware()}
	p := newPool(t, pool.Member{Name: "a", Type: "software", Device: a}, pool.Member{Name: "b", Type: "software", Device: b})
	k := open(t, p, device.SM4)
	if err := p.Drain("a", true); err != nil {
		t.Fatal(err)
	}
	before := a.calls.Load()
	for range 10 {
		mac(t, k)
		if _, err := p.Generate(ctx, device.SM4); err != nil {
			t.Fatal(err)
		}
	}
	if a.calls.Load() != before {
		t.Fatal("a drained device still gets requests")
	}
	if st, _ := p.MemberStatus("a"); !st.Drained || !st.Healthy {
		t.Fatalf("status of a drained device: %+v", st)
	}
	if err := p.Drain("nope", true); err == nil {
		t.Fatal("drained a device that does not exist")
	}
	if err := p.Drain("a", false); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		mac(t, k)
	}
	if a.calls.Load() == before {
		t.Fatal("an undrained device gets no requests")
	}
}

func TestNewRefuses(t *testing.T) {
	for name, ms := range map[string][]pool.Member{
		"none":      nil,
		"duplicate": {soft("a"), soft("a")},
		"unnamed":   {soft("")},
	} {
		if _, err := pool.New(ms); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

// TestBackupNamesTheDeviceType: a backup of a key on a device of another
// type than the default's restores on a device of that type, never on
// the default's (whose Restore could take the other's form for a raw
// key); a backup of the default's type is that device's own form.
func TestBackupNamesTheDeviceType(t *testing.T) {
	h := &faulty{Software: device.NewSoftware()}
	p := newPool(t, soft("soft0"), pool.Member{Name: "hsm", Type: "other", Device: h})
	stored, err := p.Generate(device.WithPlacement(ctx, "hsm"), device.HMACSM3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Backup(ctx, device.HMACSM3, stored)
	if err != nil {
		t.Fatal(err)
	}
	back, err := p.Restore(ctx, device.HMACSM3, b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(back, []byte(`"on":"hsm"`)) {
		t.Fatalf("a backup from the hsm restored elsewhere: %q", back)
	}
	if !bytes.Equal(mac(t, mustOpen(t, p, device.HMACSM3, back)), mac(t, mustOpen(t, p, device.HMACSM3, stored))) {
		t.Fatal("the restored key differs")
	}
	if _, err := p.Restore(device.WithPlacement(ctx, "soft0"), device.HMACSM3, b); err == nil {
		t.Fatal("an hsm backup restored onto a software device")
	}
	h.dead.Store(true)
	if _, err := p.Restore(ctx, device.HMACSM3, b); !errors.Is(err, device.ErrUnavailable) {
		t.Fatalf("restore with the only device of its type down: %v", err)
	}
}

// TestErrorsCountDeviceFailuresOnly: a ciphertext that does not open is
// the caller's, not the device's, and is no error of the device.
func TestErrorsCountDeviceFailuresOnly(t *testing.T) {
	p := newPool(t, soft("soft0"))
	k := open(t, p, device.SM4).(device.AEAD)
	if _, err := k.Open(ctx, nil, make([]byte, 40), nil); !errors.Is(err, device.ErrDecrypt) {
		t.Fatalf("Open of garbage: %v", err)
	}
	if st, _ := p.MemberStatus("soft0"); st.Errors != 0 || st.Ops == 0 {
		t.Fatalf("after a caller's bad ciphertext: %+v", st)
	}
}

// TestLostReplica: a device that lost its replica of a key sends the
// request to a peer that holds one.
func TestLostReplica(t *testing.T) {
	a, b := &faulty{Software: device.NewSoftware()}, &faulty{Software: device.NewSoftware()}
	p := newPool(t, pool.Member{Name: "a", Type: "software", Device: a}, pool.Member{Name: "b", Type: "software", Device: b})
	stored, err := p.Generate(ctx, device.SM4)
	if err != nil {
		t.Fatal(err)
	}
	a.lost.Store(true)
	for range 4 {
		k := mustOpen(t, p, device.SM4, stored)
		mac(t, k)
	}
	if st, _ := p.MemberStatus("a"); !st.Healthy {
		t.Fatal("a lost key took the device out")
	}
}
